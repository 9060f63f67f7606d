import { DEFAULT_JITTER_RATIO } from "./backoff.js";
import { DomainError } from "./domain-error.js";
import type { DeliveryType } from "./subscription.js";

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * The delays before each retry of a PUSH subscription created without a retry policy: at once,
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — nine attempts over about 27.6 hours (Svix-like), so a
 * receiver down for a deploy or a day loses nothing to the dead-letter queue, and the endpoint
 * auto-pause (24 h without a success) triggers before the last attempt.
 */
export const DEFAULT_PUSH_RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([
  0,
  5 * SECOND_MS,
  5 * MINUTE_MS,
  30 * MINUTE_MS,
  2 * HOUR_MS,
  5 * HOUR_MS,
  10 * HOUR_MS,
  10 * HOUR_MS,
]);

export const RETRY_SCHEDULE_LIMITS = Object.freeze({
  /** At most this many delays: with the first attempt, 100 attempts (the max_delivery_attempts limit). */
  maxEntries: 99,
  /** Longest single delay. */
  maxDelayMs: 24 * HOUR_MS,
});

/** Message TTL given to a subscription whose retry delays add up to more than the usual 24 h default. */
export const LONG_SCHEDULE_MESSAGE_TTL_MS = 7 * 24 * HOUR_MS;

/** What a retry decision needs: a schedule (non-empty wins) or exponential backoff bounds. */
export interface RetryTiming {
  /** Delay before retry n (after attempt n failed) is entry n-1; the last entry repeats. Empty: exponential. */
  retryScheduleMs: readonly number[];
  minBackoffMs: number;
  maxBackoffMs: number;
}

/** Validates a schedule; field names are the contract's. */
export function validateRetrySchedule(field: string, scheduleMs: readonly number[]): void {
  if (scheduleMs.length > RETRY_SCHEDULE_LIMITS.maxEntries) {
    throw DomainError.invalid(field, `must have at most ${RETRY_SCHEDULE_LIMITS.maxEntries} delays`);
  }
  for (const delayMs of scheduleMs) {
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > RETRY_SCHEDULE_LIMITS.maxDelayMs) {
      throw DomainError.invalid(field, "every delay must be between 0 and 24 h");
    }
  }
}

/** The retry settings a subscription gets when created, from what the caller gave. */
export interface RetryChoice {
  retryScheduleMs?: readonly number[] | undefined;
  maxDeliveryAttempts?: number | undefined;
  minBackoffMs?: number | undefined;
  maxBackoffMs?: number | undefined;
  messageTtlMs?: number | undefined;
}

/**
 * Fills in the retry settings of a new subscription: a given schedule is used (max_delivery_attempts
 * follows it: one attempt per delay plus the first, unless given); a PUSH subscription given neither a
 * schedule nor backoff bounds gets {@link DEFAULT_PUSH_RETRY_SCHEDULE_MS}; otherwise exponential
 * backoff stays (the default for PULL). A schedule spanning more than `defaultTtlMs` raises the
 * default TTL to {@link LONG_SCHEDULE_MESSAGE_TTL_MS}, so messages outlive their retries.
 * Returns only the settings it decided; the caller's defaults fill in the rest.
 */
export function chooseRetrySettings(
  deliveryType: DeliveryType,
  given: RetryChoice,
  defaultTtlMs: number,
): RetryChoice {
  const hasBackoff = given.minBackoffMs !== undefined || given.maxBackoffMs !== undefined;
  let schedule = given.retryScheduleMs ?? [];
  if (schedule.length === 0 && deliveryType === "push" && !hasBackoff)
    schedule = DEFAULT_PUSH_RETRY_SCHEDULE_MS;
  if (schedule.length === 0) return { retryScheduleMs: [] };
  const totalMs = schedule.reduce((sum, ms) => sum + ms, 0);
  return {
    retryScheduleMs: [...schedule],
    maxDeliveryAttempts: given.maxDeliveryAttempts ?? schedulePlusFirst(schedule),
    ...(given.messageTtlMs === undefined && totalMs > defaultTtlMs
      ? { messageTtlMs: LONG_SCHEDULE_MESSAGE_TTL_MS }
      : {}),
  };
}

/**
 * A change of retry settings: a new schedule replaces the old one (max_delivery_attempts follows
 * it unless given); new backoff bounds without a schedule switch to exponential backoff.
 */
export function changeRetrySettings(given: RetryChoice): RetryChoice {
  const schedule = given.retryScheduleMs ?? [];
  if (schedule.length > 0) {
    return {
      retryScheduleMs: [...schedule],
      maxDeliveryAttempts: given.maxDeliveryAttempts ?? schedulePlusFirst(schedule),
    };
  }
  if (given.minBackoffMs !== undefined || given.maxBackoffMs !== undefined) return { retryScheduleMs: [] };
  return {};
}

function schedulePlusFirst(schedule: readonly number[]): number {
  return Math.min(schedule.length + 1, RETRY_SCHEDULE_LIMITS.maxEntries + 1);
}

/**
 * Delay before the retry that follows failed attempt `attempt` (1-based), in whole ms: the
 * schedule's entry (the last one repeats), ±`jitterRatio` at random, never negative.
 */
export function scheduledDelayMs(
  scheduleMs: readonly number[],
  attempt: number,
  random: () => number = Math.random,
  jitterRatio = DEFAULT_JITTER_RATIO,
): number {
  const index = Math.min(Math.max(1, Math.floor(attempt)) - 1, scheduleMs.length - 1);
  const baseMs = scheduleMs[index] ?? 0;
  const sample = Math.min(1, Math.max(0, random()));
  return Math.max(0, Math.round(baseMs * (1 + jitterRatio * (2 * sample - 1))));
}

/**
 * The bounds a receiver's Retry-After is clamped to: the backoff bounds, or the schedule's
 * shortest and longest delay, so a receiver can neither stall delivery past the policy nor demand a storm.
 */
export function retryAfterBounds(timing: RetryTiming): { minBackoffMs: number; maxBackoffMs: number } {
  if (timing.retryScheduleMs.length === 0) return timing;
  return {
    minBackoffMs: Math.min(...timing.retryScheduleMs),
    maxBackoffMs: Math.max(...timing.retryScheduleMs),
  };
}

/**
 * The nominal delay (without jitter) before each retry the policy allows — what GetSubscription
 * shows as the effective schedule: `maxDeliveryAttempts - 1` delays.
 */
export function effectiveRetryDelaysMs(timing: RetryTiming & { maxDeliveryAttempts: number }): number[] {
  const retries = Math.max(0, timing.maxDeliveryAttempts - 1);
  const delays: number[] = [];
  for (let attempt = 1; attempt <= retries; attempt++) {
    delays.push(
      timing.retryScheduleMs.length > 0
        ? scheduledDelayMs(timing.retryScheduleMs, attempt, () => 0.5)
        : Math.min(timing.maxBackoffMs, timing.minBackoffMs * 2 ** Math.min(attempt - 1, 1023)),
    );
  }
  return delays;
}
