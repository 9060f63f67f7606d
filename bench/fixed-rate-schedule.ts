/**
 * Open-loop publishing on a fixed schedule, one message per Publish: a slow publish does not delay
 * the next one (up to maxInFlight). Each message carries its SCHEDULED send time, so latency
 * measured from it shows a stalled publisher or server instead of hiding it (coordinated omission).
 */
import { PAYLOAD } from "./bench-message.js";
import type { DeliveryTracker } from "./delivery-tracker.js";
import type { Peer, Publisher } from "./peers/peer.js";
import { summarizeLatencies } from "./stats.js";
import type { RunResult, WorkloadContext } from "./workloads/workload.js";

export interface ScheduleResult {
  sent: number;
  publishLatenciesMs: number[];
  firstError: unknown;
}

export async function publishOnSchedule(
  publisher: Publisher,
  tag: string,
  options: { ratePerSecond: number; total: number; maxInFlight: number; startMs: number; deadlineMs: number },
): Promise<ScheduleResult> {
  const intervalMs = 1000 / options.ratePerSecond;
  const publishLatenciesMs: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let firstError: unknown;
  let sent = 0;
  while (sent < options.total && performance.now() < options.deadlineMs && firstError === undefined) {
    const due = Math.min(options.total, Math.floor((performance.now() - options.startMs) / intervalMs) + 1);
    while (sent < due && inFlight.size < options.maxInFlight) {
      const scheduledAtMs = options.startMs + sent * intervalMs;
      const message = { id: `${tag}-${sent}`, data: PAYLOAD, sentAtMs: scheduledAtMs };
      sent += 1;
      const callStartMs = performance.now();
      const call: Promise<void> = publisher.publish([message]).then(
        () => {
          publishLatenciesMs.push(performance.now() - callStartMs);
        },
        (err: unknown) => {
          firstError ??= err;
        },
      );
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    }
    const untilNextMs = options.startMs + sent * intervalMs - performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.floor(untilNextMs))));
  }
  await Promise.all([...inFlight]);
  return { sent, publishLatenciesMs, firstError };
}

export interface ScheduledRun {
  peer: Peer;
  ctx: WorkloadContext;
  publisher: Publisher;
  tracker: DeliveryTracker;
  tag: string;
  total: number;
  durationMs: number;
  isMeasured: boolean;
  /** When delivery finished (performance.now() ms), read after the run drained or timed out. */
  finishedAtMs(): number;
}

/**
 * Publishes `total` messages on the fixed-rate schedule, waits for the tracker to see them all,
 * and reports the run; "fell behind" when delivery ended more than 10 % after the schedule.
 */
export async function measureScheduledRun(run: ScheduledRun): Promise<RunResult> {
  const { ctx, tracker, total, durationMs } = run;
  const s = ctx.settings.fixedRate;
  const meter = run.isMeasured ? await ctx.startMeter(run.peer) : undefined;
  const startMs = performance.now();
  const deadlineMs = startMs + durationMs + ctx.settings.runTimeoutMs;
  const schedule = await publishOnSchedule(run.publisher, run.tag, {
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
  const seconds = (run.finishedAtMs() - startMs) / 1000;
  const isBehind = seconds > (durationMs / 1000) * 1.1 + 0.5;
  return {
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
      ? { remark: `fell behind: ${durationMs / 1000} s of schedule took ${seconds.toFixed(1)} s to deliver` }
      : {}),
  };
}
