import { computeBackoffMs } from "./backoff.js";
import type { FailureReason } from "./dead-letter.js";
import type { DeliveryMethod } from "./notification-log.js";
import { scheduledDelayMs } from "./retry-schedule.js";

/**
 * Where a queue item is in its delivery, and who moves it there:
 * - `pending`: publish fans a message out to a subscription; release gives an unattempted item back.
 * - `leased`: a claim (Pull, a stream, the pusher) takes a `pending` or `failed` item whose time has
 *   come; the lease token goes up by one, so every later outcome is matched by (item, token).
 * - `sent`: the current lease holder acks it (Acknowledge, a 2xx push answer). Terminal.
 * - `failed`: a failed attempt (nack, push error, lease expiry found by the sweeper, a stream that
 *   closed before acking) with attempts left; claimable again at `nextRetryAtMs`. Release gives an
 *   item that was attempted before back here too.
 * - `dead_lettered`: a failed attempt with none left (or 410 Gone), or the sweeper finding the item
 *   past its TTL. Terminal; the dead-letter table holds the record.
 */
export type QueueStatus = "pending" | "leased" | "sent" | "failed" | "dead_lettered";

/** Every queue status, for parsing rows and filters. */
export const QUEUE_STATUSES: readonly QueueStatus[] = Object.freeze([
  "pending",
  "leased",
  "sent",
  "failed",
  "dead_lettered",
]);

/** True when `value` is one of {@link QUEUE_STATUSES}. */
export function isQueueStatus(value: string): value is QueueStatus {
  return (QUEUE_STATUSES as readonly string[]).includes(value);
}

/** A message queued for delivery to one subscription; instants are epoch ms, ids are bigint. */
export interface QueueItem {
  id: bigint;
  subscriptionId: bigint;
  messageId: bigint;
  status: QueueStatus;
  /** Completed attempts: each ack and each failed attempt adds one; a claim or a release does not. */
  attemptCount: number;
  /** Goes up by one with every claim; outcomes carry the token of the lease they belong to. */
  leaseToken: bigint;
  leaseExpiresAtMs: number | null;
  /** How the current or last attempt was made; null before the first claim. */
  deliveryMethod: DeliveryMethod | null;
  firstAttemptAtMs: number | null;
  lastAttemptAtMs: number | null;
  /** When a `failed` item may be claimed again. */
  nextRetryAtMs: number | null;
  lastError: string | null;
  /** After this instant an unfinished item is dead-lettered (EXPIRED) instead of delivered. */
  expiresAtMs: number;
  /** Per-subscription order of delivery. */
  sequenceNumber: bigint;
  createdAtMs: number;
  updatedAtMs: number;
}

/** One lease of one item: what an ack id names and every lease-dependent write is fenced by. */
export interface LeaseRef {
  queueId: bigint;
  leaseToken: bigint;
}

/** The key of one lease; outcomes are matched by it, never by item alone. */
export function leaseKey(ref: LeaseRef): string {
  return `${ref.queueId}:${ref.leaseToken}`;
}

/** True while `item` is leased under exactly `ref`'s token: an outcome of that lease may decide. */
export function holdsLease(item: Pick<QueueItem, "id" | "status" | "leaseToken">, ref: LeaseRef): boolean {
  return item.status === "leased" && item.id === ref.queueId && item.leaseToken === ref.leaseToken;
}

/** What a claim grants. */
export interface LeaseGrant {
  /** Lease holder, for diagnostics (instance and stream). */
  owner: string;
  method: DeliveryMethod;
  leaseExpiresAtMs: number;
}

/**
 * Claim: a `pending` or `failed` item becomes `leased` under the next lease token, its attempt
 * started now. The delivery it makes is attempt number `attemptCount + 1`.
 */
export function claim(item: QueueItem, grant: LeaseGrant, nowMs: number): QueueItem {
  return {
    ...item,
    status: "leased",
    leaseToken: item.leaseToken + 1n,
    leaseExpiresAtMs: grant.leaseExpiresAtMs,
    deliveryMethod: grant.method,
    firstAttemptAtMs: item.firstAttemptAtMs ?? nowMs,
    lastAttemptAtMs: nowMs,
    updatedAtMs: nowMs,
  };
}

/** The delivery number a claim of `item` hands to the consumer (1 on the first delivery). */
export function deliveryAttempt(item: Pick<QueueItem, "attemptCount">): number {
  return item.attemptCount + 1;
}

/** Ack: the lease holder's success; the item is `sent`, one more attempt counted, lease cleared. */
export function ack(item: QueueItem, nowMs: number): QueueItem {
  return {
    ...item,
    status: "sent",
    attemptCount: item.attemptCount + 1,
    leaseExpiresAtMs: null,
    nextRetryAtMs: null,
    updatedAtMs: nowMs,
  };
}

/**
 * Release: a lease given back without counting an attempt (server shutdown, flow-control overflow,
 * a push never sent): `pending` when the item was never attempted, else `failed`, claimable now.
 */
export function release(item: QueueItem, nowMs: number): QueueItem {
  return {
    ...item,
    status: item.attemptCount === 0 ? "pending" : "failed",
    leaseExpiresAtMs: null,
    updatedAtMs: nowMs,
  };
}

/** The subscription's retry policy, as a failed attempt needs it. */
export interface RetryPolicy {
  maxDeliveryAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Delays before each retry; when non-empty it replaces exponential backoff (see retry-schedule.ts). */
  retryScheduleMs: readonly number[];
}

/**
 * What kind of failure an attempt ended with, which decides when it may be retried:
 * `backoff` (a nack, an error answer, an expired lease: the retry schedule or exponential backoff,
 * with jitter, or the receiver's Retry-After when it named one), `immediate` (the consumer went away mid-delivery: retry
 * at once, still counted so a poison message reaches the dead-letter queue), `gone` (the endpoint
 * will never accept it: dead-letter at once whatever attempts are left), `rejected` (the consumer
 * says it will never succeed: dead-letter at once, reason REJECTED).
 */
export type AttemptFailureKind =
  | { kind: "backoff"; retryAfterMs?: number | null }
  | { kind: "immediate" }
  | { kind: "gone" }
  | { kind: "rejected" };

/** The decision for one failed attempt. */
export type FailureDecision =
  | { outcome: "retry"; nextRetryAtMs: number }
  | { outcome: "dead_letter"; reason: FailureReason };

/**
 * Decides a failed attempt of an item that had made `attemptCount` attempts before it: dead-letter
 * (GONE, REJECTED, or MAX_ATTEMPTS once this attempt was the last the policy allows) or retry at a time.
 */
export function decideFailure(
  attemptCount: number,
  failure: AttemptFailureKind,
  policy: RetryPolicy,
  nowMs: number,
  random: () => number = Math.random,
): FailureDecision {
  if (failure.kind === "gone") return { outcome: "dead_letter", reason: "GONE" };
  if (failure.kind === "rejected") return { outcome: "dead_letter", reason: "REJECTED" };
  const attempts = attemptCount + 1;
  if (attempts >= policy.maxDeliveryAttempts) return { outcome: "dead_letter", reason: "MAX_ATTEMPTS" };
  if (failure.kind === "immediate") return { outcome: "retry", nextRetryAtMs: nowMs };
  const delayMs =
    failure.retryAfterMs ??
    (policy.retryScheduleMs.length > 0
      ? scheduledDelayMs(policy.retryScheduleMs, attempts, random)
      : computeBackoffMs({
          attempt: attempts,
          minBackoffMs: policy.minBackoffMs,
          maxBackoffMs: policy.maxBackoffMs,
          random,
        }));
  return { outcome: "retry", nextRetryAtMs: nowMs + Math.max(0, delayMs) };
}

/**
 * Fail: the lease holder's attempt failed with `error`. One more attempt is counted and the item
 * either waits in `failed` for its retry or is `dead_lettered` with the decision's reason.
 */
export function fail(item: QueueItem, error: string, decision: FailureDecision, nowMs: number): QueueItem {
  const failed = {
    ...item,
    attemptCount: item.attemptCount + 1,
    lastError: error,
    leaseExpiresAtMs: null,
    firstAttemptAtMs: item.firstAttemptAtMs ?? nowMs,
    lastAttemptAtMs: nowMs,
    updatedAtMs: nowMs,
  };
  return decision.outcome === "retry"
    ? { ...failed, status: "failed", nextRetryAtMs: decision.nextRetryAtMs }
    : { ...failed, status: "dead_lettered", nextRetryAtMs: null };
}

/** The last error an expired item is dead-lettered with when no attempt left one. */
export const EXPIRED_BEFORE_DELIVERY = "expired before delivery";

/** True when an unfinished, unleased item has passed its TTL and must be expired. */
export function isExpired(item: Pick<QueueItem, "status" | "expiresAtMs">, nowMs: number): boolean {
  return (item.status === "pending" || item.status === "failed") && item.expiresAtMs <= nowMs;
}

/**
 * Expire: a `pending` or `failed` item past its TTL is `dead_lettered` (reason EXPIRED) without
 * counting an attempt; nothing disappears silently.
 */
export function expire(item: QueueItem, nowMs: number): QueueItem {
  return {
    ...item,
    status: "dead_lettered",
    lastError: item.lastError ?? EXPIRED_BEFORE_DELIVERY,
    nextRetryAtMs: null,
    updatedAtMs: nowMs,
  };
}
