/**
 * Workload 5, fan-out (Herald only): one topic with 100 PULL subscriptions and nobody consuming;
 * 4 publishers send batches of 100 × 1 KiB. Publish returns after the commit, which includes one
 * queue row per subscription, so the rate is queue rows created per second
 * (messages × subscriptions / time). The table compares it to the MySQL INSERT ceiling.
 */
import { asHeraldPeer } from "../peers/herald-peer.js";
import type { Peer } from "../peers/peer.js";
import { publishConcurrently } from "../publish-loop.js";
import type { RunResult, Workload, WorkloadContext } from "./workload.js";

async function fanOutRun(peer: Peer, ctx: WorkloadContext, total: number, isMeasured: boolean) {
  const s = ctx.settings.fanOut;
  const tag = ctx.uniqueTag("w5");
  const channel = await asHeraldPeer(peer).openHeraldChannel(tag, { pullSubscriptions: s.subscriptions });
  const publishers = await Promise.all(Array.from({ length: s.clients }, () => channel.openPublisher()));
  try {
    const meter = isMeasured ? await ctx.startMeter(peer) : undefined;
    const result = await publishConcurrently(publishers, {
      total,
      batchSize: s.batchSize,
      idPrefix: tag,
      deadlineMs: performance.now() + ctx.settings.runTimeoutMs,
    });
    const cost = await meter?.finish();
    const seconds = (result.lastAckAtMs - result.firstSendAtMs) / 1000;
    const rows = result.published * s.subscriptions;
    const run: RunResult = {
      count: rows,
      expected: total * s.subscriptions,
      seconds,
      perSecond: rows / seconds,
      isComplete: result.complete,
      ...(cost ? { cost } : {}),
      ...(result.complete ? {} : { problem: `run timeout: ${result.published}/${total} published` }),
    };
    return run;
  } finally {
    await Promise.all(publishers.map((p) => p.close()));
    await channel.close();
  }
}

export const fanOut: Workload = {
  id: "fanout",
  title: (s) =>
    `5. fan-out to ${s.fanOut.subscriptions} pull subscriptions (${s.fanOut.clients} clients × batches of ${s.fanOut.batchSize}; queue rows)`,
  isForPeers: false,
  unit: "rows/s",
  async warmUp(peer, ctx) {
    await fanOutRun(peer, ctx, ctx.settings.fanOut.warmupTotal, false);
  },
  runOnce: (peer, ctx) => fanOutRun(peer, ctx, ctx.settings.fanOut.total, true),
};
