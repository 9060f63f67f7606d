/**
 * Workload 3, latency at a fixed rate: one publisher publishes one message per Publish on a fixed
 * schedule (open loop: a slow publish does not delay the next one, up to maxInFlight), one
 * consumer stream receives and acks. Latency is measured from each message's SCHEDULED send time,
 * so a stalled publisher or server shows up in the numbers instead of hiding (coordinated omission).
 */
import { DeliveryTracker } from "../delivery-tracker.js";
import { measureScheduledRun } from "../fixed-rate-schedule.js";
import type { Peer } from "../peers/peer.js";
import type { Workload, WorkloadContext } from "./workload.js";

const CONSUMER_SETTLE_MS = 200;

async function fixedRateRun(peer: Peer, ctx: WorkloadContext, durationMs: number, isMeasured: boolean) {
  const s = ctx.settings.fixedRate;
  const total = Math.round((s.ratePerSecond * durationMs) / 1000);
  const tag = ctx.uniqueTag("w3");
  const channel = await peer.openChannel(tag);
  const tracker = new DeliveryTracker(total);
  const publisher = await channel.openPublisher();
  const consumer = await channel.openConsumer(tracker.handlers, {
    maxOutstandingMessages: s.maxOutstandingMessages,
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, CONSUMER_SETTLE_MS));
    return await measureScheduledRun({
      peer,
      ctx,
      publisher,
      tracker,
      tag,
      total,
      durationMs,
      isMeasured,
      finishedAtMs: () => tracker.lastAckAtMs,
    });
  } finally {
    await consumer.close().catch(() => {});
    await publisher.close().catch(() => {});
    await channel.close();
  }
}

export const fixedRateLatency: Workload = {
  id: "latency",
  title: (s) =>
    `3. latency at ${s.fixedRate.ratePerSecond.toLocaleString("en-US")} msg/s (1 message per Publish)`,
  isForPeers: true,
  unit: "msg/s",
  async warmUp(peer, ctx) {
    await fixedRateRun(peer, ctx, ctx.settings.fixedRate.warmupMs, false);
  },
  runOnce: (peer, ctx) => fixedRateRun(peer, ctx, ctx.settings.fixedRate.durationMs, true),
};
