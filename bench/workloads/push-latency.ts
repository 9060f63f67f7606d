/**
 * Workload 4b, push latency at a fixed rate (Herald only): one publisher sends one message per
 * Publish on the fixed-rate schedule (workload 3's rate and duration) to a topic with one PUSH
 * subscription whose webhook is the local receiver answering 204. Latency is from each message's
 * SCHEDULED send time to its arrival at the receiver, so a publisher or pusher that falls behind
 * shows up in the numbers.
 */
import { DeliveryTracker } from "../delivery-tracker.js";
import { measureScheduledRun } from "../fixed-rate-schedule.js";
import { asHeraldPeer } from "../peers/herald-peer.js";
import type { Peer } from "../peers/peer.js";
import { PUSHER_REFRESH_SETTLE_MS, startPushReceiver } from "../push-receiver.js";
import { pushDelivery } from "./push-delivery.js";
import type { Workload, WorkloadContext } from "./workload.js";

async function pushLatencyRun(peer: Peer, ctx: WorkloadContext, durationMs: number, isMeasured: boolean) {
  const s = ctx.settings.fixedRate;
  const total = Math.round((s.ratePerSecond * durationMs) / 1000);
  const tag = ctx.uniqueTag("w4b");
  const tracker = new DeliveryTracker(total);
  const receiver = await startPushReceiver(tracker);
  try {
    const channel = await asHeraldPeer(peer).openHeraldChannel(tag, { pushEndpoint: receiver.url });
    const publisher = await channel.openPublisher();
    try {
      await new Promise((resolve) => setTimeout(resolve, PUSHER_REFRESH_SETTLE_MS));
      return await measureScheduledRun({
        peer,
        ctx,
        publisher,
        tracker,
        tag,
        total,
        durationMs,
        isMeasured,
        finishedAtMs: () =>
          Number.isNaN(receiver.state.completedAtMs) ? performance.now() : receiver.state.completedAtMs,
      });
    } finally {
      await publisher.close().catch(() => {});
      await channel.close();
    }
  } finally {
    await receiver.close();
  }
}

export const pushLatency: Workload = {
  id: "push-latency",
  title: (s) =>
    `4b. push latency at ${s.fixedRate.ratePerSecond.toLocaleString("en-US")} msg/s (1 message per Publish, receiver answers 204)`,
  isForPeers: false,
  unit: "msg/s",
  heraldEnv: pushDelivery.heraldEnv,
  async warmUp(peer, ctx) {
    await pushLatencyRun(peer, ctx, ctx.settings.fixedRate.warmupMs, false);
  },
  runOnce: (peer, ctx) => pushLatencyRun(peer, ctx, ctx.settings.fixedRate.durationMs, true),
};
