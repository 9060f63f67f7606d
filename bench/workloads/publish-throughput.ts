/**
 * Workload 1, durable publish throughput: 4 concurrent publishers send batches of 100 until a fixed
 * count is acknowledged (Herald: after the commit). Nobody consumes; Herald's topic has one pull
 * subscription, so every message also writes one queue row.
 */

import type { Peer } from "../peers/peer.js";
import { publishConcurrently } from "../publish-loop.js";
import type { RunResult, Workload, WorkloadContext } from "./workload.js";

async function publishFixedCount(peer: Peer, ctx: WorkloadContext, total: number, isMeasured: boolean) {
  const { clients, batchSize } = ctx.settings.publishThroughput;
  const tag = ctx.uniqueTag("w1");
  const channel = await peer.openChannel(tag);
  const publishers = await Promise.all(Array.from({ length: clients }, () => channel.openPublisher()));
  try {
    const meter = isMeasured ? await ctx.startMeter(peer) : undefined;
    const result = await publishConcurrently(publishers, {
      total,
      batchSize,
      idPrefix: tag,
      deadlineMs: performance.now() + ctx.settings.runTimeoutMs,
    });
    const cost = await meter?.finish();
    const seconds = (result.lastAckAtMs - result.firstSendAtMs) / 1000;
    const run: RunResult = {
      count: result.published,
      expected: total,
      seconds,
      perSecond: result.published / seconds,
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

export const publishThroughput: Workload = {
  id: "publish",
  title: (s) =>
    `1. durable publish (${s.publishThroughput.clients} clients × batches of ${s.publishThroughput.batchSize})`,
  isForPeers: true,
  unit: "msg/s",
  async warmUp(peer, ctx) {
    await publishFixedCount(peer, ctx, ctx.settings.publishThroughput.warmupTotal, false);
  },
  runOnce: (peer, ctx) => publishFixedCount(peer, ctx, ctx.settings.publishThroughput.total, true),
};
