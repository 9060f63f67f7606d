/**
 * Workload 3, latency at a fixed rate: one publisher publishes one message per Publish on a fixed
 * schedule (open loop: a slow publish does not delay the next one, up to maxInFlight), one
 * consumer stream receives and acks. Latency is measured from each message's SCHEDULED send time,
 * so a stalled publisher or server shows up in the numbers instead of hiding (coordinated omission).
 */
import { DeliveryTracker } from "../delivery-tracker.js";
import { publishOnSchedule } from "../fixed-rate-schedule.js";
import type { Peer } from "../peers/peer.js";
import { summarizeLatencies } from "../stats.js";
import type { RunResult, Workload, WorkloadContext } from "./workload.js";

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
    const seconds = (tracker.lastAckAtMs - startMs) / 1000;
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
