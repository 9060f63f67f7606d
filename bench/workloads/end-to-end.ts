/**
 * Workload 2, end-to-end: the publishers of workload 1 publish a fixed count while 2 competing
 * consumers (Herald: Subscribe streams with max_outstanding_messages 1000) receive and ack each
 * received batch. Throughput is from the first publish to the last ack; latency is publish→receive.
 */
import { DeliveryTracker } from "../delivery-tracker.js";
import type { Consumer, Peer } from "../peers/peer.js";
import { publishConcurrently } from "../publish-loop.js";
import { summarizeLatencies } from "../stats.js";
import type { RunResult, Workload, WorkloadContext } from "./workload.js";

/** Lets consumers open their streams before the first publish. */
const CONSUMER_SETTLE_MS = 200;

async function endToEndRun(peer: Peer, ctx: WorkloadContext, total: number, isMeasured: boolean) {
  const s = ctx.settings.endToEnd;
  const tag = ctx.uniqueTag("w2");
  const channel = await peer.openChannel(tag);
  const tracker = new DeliveryTracker(total);
  const consumers: Consumer[] = [];
  const publishers = await Promise.all(Array.from({ length: s.clients }, () => channel.openPublisher()));
  try {
    for (let i = 0; i < s.consumers; i++) {
      consumers.push(
        await channel.openConsumer(tracker.handlers, { maxOutstandingMessages: s.maxOutstandingMessages }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, CONSUMER_SETTLE_MS));
    const meter = isMeasured ? await ctx.startMeter(peer) : undefined;
    const deadlineMs = performance.now() + ctx.settings.runTimeoutMs;
    const published = await publishConcurrently(publishers, {
      total,
      batchSize: s.batchSize,
      idPrefix: tag,
      deadlineMs,
    });
    const isDrained = await tracker.waitForAll(deadlineMs);
    const cost = await meter?.finish();
    const seconds = (tracker.lastAckAtMs - published.firstSendAtMs) / 1000;
    const problem =
      tracker.firstError !== undefined
        ? `consumer error: ${tracker.firstError instanceof Error ? tracker.firstError.message : String(tracker.firstError)}`
        : !published.complete || !isDrained
          ? `run timeout: ${published.published}/${total} published, ${tracker.uniqueReceived} received, ${tracker.acked} acked`
          : undefined;
    const run: RunResult = {
      count: tracker.uniqueReceived,
      expected: total,
      seconds,
      perSecond: tracker.uniqueReceived / seconds,
      isComplete: problem === undefined,
      latency: summarizeLatencies(tracker.latenciesMs),
      duplicates: tracker.duplicates,
      ...(cost ? { cost } : {}),
      ...(problem ? { problem } : {}),
    };
    return run;
  } finally {
    await Promise.all(consumers.map((c) => c.close().catch(() => {})));
    await Promise.all(publishers.map((p) => p.close().catch(() => {})));
    await channel.close();
  }
}

export const endToEnd: Workload = {
  id: "e2e",
  title: (s) =>
    `2. end-to-end (${s.endToEnd.clients} publishers, ${s.endToEnd.consumers} consumers acking per batch)`,
  isForPeers: true,
  unit: "msg/s",
  async warmUp(peer, ctx) {
    await endToEndRun(peer, ctx, ctx.settings.endToEnd.warmupTotal, false);
  },
  runOnce: (peer, ctx) => endToEndRun(peer, ctx, ctx.settings.endToEnd.total, true),
};
