/**
 * Workload 1s, single-message publish throughput: one message per Publish call, up to
 * `maxInFlight` calls in flight spread over `clients` connections, until a fixed count is
 * acknowledged (Herald: after the commit; RabbitMQ: each message's confirm). Nobody consumes;
 * Herald's topic has one pull subscription. Herald runs it with the grpc-js client only, the
 * client a generated stub in another stack would be.
 */
import type { Peer } from "../peers/peer.js";
import { publishConcurrently } from "../publish-loop.js";
import type { RunResult, Workload, WorkloadContext } from "./workload.js";

async function publishOneByOne(peer: Peer, ctx: WorkloadContext, total: number, isMeasured: boolean) {
  const { clients, maxInFlight } = ctx.settings.singlePublish;
  const tag = ctx.uniqueTag("w1s");
  const channel = await peer.openChannel(tag);
  const publishers = await Promise.all(Array.from({ length: clients }, () => channel.openPublisher()));
  try {
    // Each entry is one closed loop awaiting one call at a time, so a publisher listed k times
    // has k calls in flight on its connection.
    const perClient = Math.max(1, Math.floor(maxInFlight / clients));
    const loops = publishers.flatMap((p) => Array.from({ length: perClient }, () => p));
    const meter = isMeasured ? await ctx.startMeter(peer) : undefined;
    const result = await publishConcurrently(loops, {
      total,
      batchSize: 1,
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

export const singlePublish: Workload = {
  id: "publish1",
  title: (s) =>
    `1s. single-message publish (${s.singlePublish.clients} clients, ≤${s.singlePublish.maxInFlight.toLocaleString("en-US")} calls in flight)`,
  isForPeers: true,
  unit: "msg/s",
  async warmUp(peer, ctx) {
    await publishOneByOne(peer, ctx, ctx.settings.singlePublish.warmupTotal, false);
  },
  runOnce: (peer, ctx) => publishOneByOne(peer, ctx, ctx.settings.singlePublish.total, true),
};
