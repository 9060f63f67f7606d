/**
 * Workload 4, push delivery (Herald only): a topic with one PUSH subscription whose subscriber's
 * webhook_url is a node:http receiver in this process on 127.0.0.1. The receiver reads the body,
 * parses it only for the identifier and the send time in `message.attributes`, and answers 204.
 * 4 publishers send batches of 100; throughput is from the first publish to the N-th distinct
 * message received, latency is publish→receive. Duplicates (redeliveries) are counted.
 */
import { DeliveryTracker } from "../delivery-tracker.js";
import { asHeraldPeer } from "../peers/herald-peer.js";
import type { Peer } from "../peers/peer.js";
import { publishConcurrently } from "../publish-loop.js";
import { PUSHER_REFRESH_SETTLE_MS, startPushReceiver } from "../push-receiver.js";
import { summarizeLatencies } from "../stats.js";
import type { RunResult, Workload, WorkloadContext } from "./workload.js";

async function pushRun(peer: Peer, ctx: WorkloadContext, total: number, isMeasured: boolean) {
  const s = ctx.settings.push;
  const tag = ctx.uniqueTag("w4");
  const tracker = new DeliveryTracker(total);
  const receiver = await startPushReceiver(tracker);
  try {
    const channel = await asHeraldPeer(peer).openHeraldChannel(tag, { pushEndpoint: receiver.url });
    const publishers = await Promise.all(Array.from({ length: s.clients }, () => channel.openPublisher()));
    try {
      await new Promise((resolve) => setTimeout(resolve, PUSHER_REFRESH_SETTLE_MS));
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
      const endMs = Number.isNaN(receiver.state.completedAtMs)
        ? performance.now()
        : receiver.state.completedAtMs;
      const seconds = (endMs - published.firstSendAtMs) / 1000;
      const problem =
        tracker.firstError !== undefined
          ? `receiver error: ${tracker.firstError instanceof Error ? tracker.firstError.message : String(tracker.firstError)}`
          : !published.complete || !isDrained
            ? `run timeout: ${published.published}/${total} published, ${tracker.uniqueReceived} received`
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
        ...(tracker.duplicates > 0 ? { remark: `${tracker.duplicates} duplicate deliveries` } : {}),
      };
      return run;
    } finally {
      await Promise.all(publishers.map((p) => p.close().catch(() => {})));
      await channel.close();
    }
  } finally {
    await receiver.close();
  }
}

export const pushDelivery: Workload = {
  id: "push",
  title: (s) =>
    `4. push to a local webhook (${s.push.clients} clients × batches of ${s.push.batchSize}, receiver answers 204)`,
  isForPeers: false,
  unit: "msg/s",
  heraldEnv: { HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32", HERALD_WEBHOOK_ALLOW_HTTP: "true" },
  async warmUp(peer, ctx) {
    await pushRun(peer, ctx, ctx.settings.push.warmupTotal, false);
  },
  runOnce: (peer, ctx) => pushRun(peer, ctx, ctx.settings.push.total, true),
};
