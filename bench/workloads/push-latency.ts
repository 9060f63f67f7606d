/**
 * Workload 4b, push latency at a fixed rate (Herald only): one publisher sends one message per
 * Publish on the fixed-rate schedule (workload 3's rate and duration) to a topic with one PUSH
 * subscription whose webhook is the local receiver answering 204. Latency is from each message's
 * SCHEDULED send time to its arrival at the receiver, so a publisher or pusher that falls behind
 * shows up in the numbers.
 */
import { DeliveryTracker } from "../delivery-tracker.js";
import { publishOnSchedule } from "../fixed-rate-schedule.js";
import { asHeraldPeer } from "../peers/herald-peer.js";
import type { Peer } from "../peers/peer.js";
import { PUSHER_REFRESH_SETTLE_MS, startPushReceiver } from "../push-receiver.js";
import { summarizeLatencies } from "../stats.js";
import { pushDelivery } from "./push-delivery.js";
import type { RunResult, Workload, WorkloadContext } from "./workload.js";

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
      const meter = isMeasured ? await ctx.startMeter(peer) : undefined;
      const startMs = performance.now();
      const deadlineMs = startMs + durationMs + ctx.settings.runTimeoutMs;
      const schedule = await publishOnSchedule(publisher, tag, {
        ratePerSecond: s.ratePerSecond,
        total,
        maxInFlight: s.maxInFlight,
        startMs,
        deadlineMs,
      });
      const isDrained = schedule.firstError === undefined && (await tracker.waitForAll(deadlineMs));
      const cost = await meter?.finish();
      const failure = schedule.firstError ?? tracker.firstError;
      const problem =
        failure !== undefined
          ? `error: ${failure instanceof Error ? failure.message : String(failure)}`
          : !isDrained
            ? `run timeout: ${schedule.sent}/${total} sent, ${tracker.uniqueReceived} received`
            : undefined;
      const endMs = Number.isNaN(receiver.state.completedAtMs)
        ? performance.now()
        : receiver.state.completedAtMs;
      const seconds = (endMs - startMs) / 1000;
      // Delivery finishing more than 10 % after the schedule means the rate was not sustained.
      const isBehind = seconds > (durationMs / 1000) * 1.1 + 0.5;
      const run: RunResult = {
        count: tracker.uniqueReceived,
        expected: total,
        seconds,
        perSecond: tracker.uniqueReceived / seconds,
        isComplete: problem === undefined,
        latency: summarizeLatencies(tracker.latenciesMs),
        publishLatency: summarizeLatencies(schedule.publishLatenciesMs),
        duplicates: tracker.duplicates,
        ...(cost ? { cost } : {}),
        ...(problem ? { problem } : {}),
        ...(!problem && isBehind
          ? {
              remark: `fell behind: ${durationMs / 1000} s of schedule took ${seconds.toFixed(1)} s to deliver`,
            }
          : {}),
      };
      return run;
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
