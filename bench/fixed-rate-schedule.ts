/**
 * Open-loop publishing on a fixed schedule, one message per Publish: a slow publish does not delay
 * the next one (up to maxInFlight). Each message carries its SCHEDULED send time, so latency
 * measured from it shows a stalled publisher or server instead of hiding it (coordinated omission).
 */
import { PAYLOAD } from "./bench-message.js";
import type { Publisher } from "./peers/peer.js";

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
