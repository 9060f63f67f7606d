import { DomainError } from "./domain-error.js";

/** How far ahead a message may be scheduled: 31 days, the longest a subscription keeps a message. */
export const MAX_SCHEDULE_AHEAD_MS = 31 * 24 * 60 * 60 * 1000;

/**
 * The time a message asked to be delivered at (`deliverAtMs`, epoch ms; undefined = not scheduled)
 * as it is stored: undefined when it is due now (unset, or not after `nowMs`: a time in the past
 * means now), the time itself otherwise. More than MAX_SCHEDULE_AHEAD_MS ahead is INVALID_ARGUMENT
 * naming `field`.
 */
export function scheduledDeliveryAtMs(
  field: string,
  deliverAtMs: number | undefined,
  nowMs: number,
): number | undefined {
  if (deliverAtMs === undefined || deliverAtMs <= nowMs) return undefined;
  if (deliverAtMs - nowMs > MAX_SCHEDULE_AHEAD_MS) {
    throw DomainError.invalid(field, "must be at most 31 days ahead");
  }
  return deliverAtMs;
}
