import type { Clock } from "./clock.js";
import { DomainError } from "./domain-error.js";

/**
 * Lifecycle state of a queue item. `pending`: created by publish, awaiting its first attempt.
 * `sent`: delivered (terminal). `failed`: the last attempt failed and a retry is scheduled at `nextRetryAtMs`.
 */
export type QueueStatus = "pending" | "sent" | "failed";

/** Every queue status, for parsing rows and filters. */
export const QUEUE_STATUSES: readonly QueueStatus[] = Object.freeze(["pending", "sent", "failed"]);

/** True when `value` is one of {@link QUEUE_STATUSES}. */
export function isQueueStatus(value: string): value is QueueStatus {
  return (QUEUE_STATUSES as readonly string[]).includes(value);
}

/** How long a queue item may wait for delivery before it expires: 24 hours, in milliseconds. */
export const DEFAULT_QUEUE_TTL_MS = 24 * 60 * 60 * 1000;

/** The seed's queue error codes, used as `DomainError.reason`. */
export const QueueErrorReason = Object.freeze({
  expired: "QUEUE_EXPIRED",
  alreadySent: "ALREADY_SENT",
  maxAttempts: "MAX_ATTEMPTS",
  notReady: "NOT_READY",
  noRetry: "NO_RETRY",
} as const);

/** One of the seed's queue error codes. */
export type QueueErrorReason = (typeof QueueErrorReason)[keyof typeof QueueErrorReason];

/** The item has passed its expiry time (seed `ErrQueueItemExpired`). */
export function queueItemExpiredError(): DomainError {
  return DomainError.precondition(QueueErrorReason.expired, "Queue item has expired");
}

/** The item was already delivered (seed `ErrQueueItemAlreadySent`). */
export function queueItemAlreadySentError(): DomainError {
  return DomainError.precondition(QueueErrorReason.alreadySent, "Queue item already sent");
}

/** The item has used up its delivery attempts (seed `ErrMaxAttemptsExceeded`). */
export function maxAttemptsExceededError(): DomainError {
  return DomainError.precondition(QueueErrorReason.maxAttempts, "Maximum delivery attempts exceeded");
}

/** The retry delay has not elapsed yet (seed `ErrNotReadyForRetry`). */
export function notReadyForRetryError(): DomainError {
  return DomainError.precondition(QueueErrorReason.notReady, "Not ready for retry yet");
}

/** The item has no retry time (seed `ErrNoRetryScheduled`). */
export function noRetryScheduledError(): DomainError {
  return DomainError.precondition(QueueErrorReason.noRetry, "No retry scheduled");
}

/** The persisted fields of a queue item; instants are epoch milliseconds, ids are bigint. */
export interface QueueItemState {
  /** Storage id; `0n` until storage assigns one. */
  id: bigint;
  subscriptionId: bigint;
  messageId: bigint;
  status: QueueStatus;
  /** Completed attempts (each `markSent` or `markFailed` counts one). */
  attemptCount: number;
  lastAttemptAtMs: number | null;
  /** When the item may next be attempted; `null` once sent. */
  nextRetryAtMs: number | null;
  lastError: string | null;
  expiresAtMs: number;
  /** Per-subscription order of delivery. */
  sequenceNumber: bigint;
  /** Time of the last state change. */
  operationTimestampMs: number;
  completedAtMs: number | null;
  createdAtMs: number;
  /** When the first attempt started; kept for the dead-letter record. */
  firstAttemptAtMs: number | null;
}

/** Input of {@link newQueueItem}. */
export interface NewQueueItemInput {
  subscriptionId: bigint;
  messageId: bigint;
  sequenceNumber: bigint;
  /** Time to live from creation, in ms; default {@link DEFAULT_QUEUE_TTL_MS}. */
  ttlMs?: number;
}

/**
 * A message queued for delivery to one subscription (the seed's `Queue`): retry state, timing and
 * the last error. Methods read the time from the injected clock; storage persists {@link toState}.
 */
export class QueueItem implements QueueItemState {
  id: bigint;
  subscriptionId: bigint;
  messageId: bigint;
  status: QueueStatus;
  attemptCount: number;
  lastAttemptAtMs: number | null;
  nextRetryAtMs: number | null;
  lastError: string | null;
  expiresAtMs: number;
  sequenceNumber: bigint;
  operationTimestampMs: number;
  completedAtMs: number | null;
  createdAtMs: number;
  firstAttemptAtMs: number | null;
  readonly #clock: Clock;

  /** Rebuilds an item from stored state (e.g. a storage row); the state object is copied. */
  constructor(state: QueueItemState, clock: Clock) {
    this.id = state.id;
    this.subscriptionId = state.subscriptionId;
    this.messageId = state.messageId;
    this.status = state.status;
    this.attemptCount = state.attemptCount;
    this.lastAttemptAtMs = state.lastAttemptAtMs;
    this.nextRetryAtMs = state.nextRetryAtMs;
    this.lastError = state.lastError;
    this.expiresAtMs = state.expiresAtMs;
    this.sequenceNumber = state.sequenceNumber;
    this.operationTimestampMs = state.operationTimestampMs;
    this.completedAtMs = state.completedAtMs;
    this.createdAtMs = state.createdAtMs;
    this.firstAttemptAtMs = state.firstAttemptAtMs;
    this.#clock = clock;
  }

  /** A plain copy of the persisted fields, without the clock. */
  toState(): QueueItemState {
    return {
      id: this.id,
      subscriptionId: this.subscriptionId,
      messageId: this.messageId,
      status: this.status,
      attemptCount: this.attemptCount,
      lastAttemptAtMs: this.lastAttemptAtMs,
      nextRetryAtMs: this.nextRetryAtMs,
      lastError: this.lastError,
      expiresAtMs: this.expiresAtMs,
      sequenceNumber: this.sequenceNumber,
      operationTimestampMs: this.operationTimestampMs,
      completedAtMs: this.completedAtMs,
      createdAtMs: this.createdAtMs,
      firstAttemptAtMs: this.firstAttemptAtMs,
    };
  }

  /**
   * Checks, in the seed's order, whether a delivery may be attempted now: expired → already sent →
   * `attemptCount >= maxAttempts` → (failed only) no retry scheduled / retry time still in the future.
   * Returns the matching error, or `undefined` when delivery may proceed.
   */
  canAttemptDelivery(maxAttempts: number): DomainError | undefined {
    if (this.isExpired()) return queueItemExpiredError();
    if (this.status === "sent") return queueItemAlreadySentError();
    if (this.attemptCount >= maxAttempts) return maxAttemptsExceededError();
    if (this.status === "failed") {
      if (this.nextRetryAtMs === null) return noRetryScheduledError();
      if (this.nextRetryAtMs > this.#clock.nowMs()) return notReadyForRetryError();
    }
    return undefined;
  }

  /**
   * Records a successful delivery: status `sent`, one more attempt, and completion/attempt times set to now.
   * Returns false and changes nothing when the item is already sent.
   */
  markSent(): boolean {
    // A repeated success report (duplicate ack, redelivered response) must not count a second attempt
    // or move completedAt: the first success is the fact.
    if (this.status === "sent") return false;
    const nowMs = this.#clock.nowMs();
    this.status = "sent";
    this.attemptCount += 1;
    this.completedAtMs = nowMs;
    this.lastAttemptAtMs = nowMs;
    this.operationTimestampMs = nowMs;
    this.firstAttemptAtMs ??= nowMs;
    // The seed only says "updates timing fields"; clearing the retry time makes a sent item visibly
    // unschedulable, so a scheduler that selects by next retry time can never pick it up again.
    this.nextRetryAtMs = null;
    return true;
  }

  /**
   * Records a failed attempt: status `failed`, one more attempt, `lastError` kept, and the next retry
   * scheduled `retryAfterMs` from now (negative or non-finite delays count as 0).
   * Returns false and changes nothing when the item is already sent.
   */
  markFailed(errorMessage: string, retryAfterMs: number): boolean {
    // The seed does not guard this; we do, because a late failure report (e.g. a timed-out attempt
    // whose retry already succeeded) must never turn a delivered item back into a retry: that would
    // deliver the message twice.
    if (this.status === "sent") return false;
    const nowMs = this.#clock.nowMs();
    const delayMs = Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : 0;
    this.status = "failed";
    this.attemptCount += 1;
    this.lastError = errorMessage;
    this.lastAttemptAtMs = nowMs;
    this.operationTimestampMs = nowMs;
    this.firstAttemptAtMs ??= nowMs;
    this.nextRetryAtMs = nowMs + delayMs;
    return true;
  }

  /**
   * Marks the start of a delivery attempt: sets `lastAttemptAtMs`, `operationTimestampMs` and, on the
   * first attempt, `firstAttemptAtMs`. Timing only; the attempt is counted by `markSent` or `markFailed`.
   */
  recordAttemptStart(): void {
    const nowMs = this.#clock.nowMs();
    this.lastAttemptAtMs = nowMs;
    this.operationTimestampMs = nowMs;
    this.firstAttemptAtMs ??= nowMs;
  }

  /**
   * True when the item is `failed`, has a retry time that has arrived, and has not expired.
   * It does not check attempt limits; use {@link canAttemptDelivery} for the full gate.
   */
  shouldRetry(): boolean {
    // The seed checks status and retry time only. We also exclude expired items: they belong in the
    // dead-letter queue (reason EXPIRED), and retrying them would deliver past their TTL.
    if (this.status !== "failed" || this.nextRetryAtMs === null) return false;
    return this.nextRetryAtMs <= this.#clock.nowMs() && !this.isExpired();
  }

  /** True when the item has failed and its attempt count has reached `dlqThreshold`. */
  shouldMoveToDlq(dlqThreshold: number): boolean {
    return this.status === "failed" && this.attemptCount >= dlqThreshold;
  }

  /** True once the clock is past `expiresAtMs` (at exactly `expiresAtMs` the item is still live). */
  isExpired(): boolean {
    return this.#clock.nowMs() > this.expiresAtMs;
  }

  /** Milliseconds since the item was created. */
  getAgeMs(): number {
    return this.#clock.nowMs() - this.createdAtMs;
  }

  /** Milliseconds until the item expires; negative once it has expired. */
  getTimeUntilExpiryMs(): number {
    return this.expiresAtMs - this.#clock.nowMs();
  }

  /**
   * Milliseconds until the next retry, or 0 when it is due now.
   * @throws DomainError `NO_RETRY` (failed_precondition) when no retry is scheduled (e.g. the item was sent).
   */
  getTimeUntilRetryMs(): number {
    if (this.nextRetryAtMs === null) throw noRetryScheduledError();
    return Math.max(0, this.nextRetryAtMs - this.#clock.nowMs());
  }

  /**
   * Marks the item complete.
   * @deprecated The seed's legacy completion flag; use {@link markSent}, which this calls.
   */
  setComplete(): void {
    this.markSent();
  }
}

/**
 * Creates a queue item for one message and subscription (the seed's `NewQueue`): `pending`, no attempts,
 * ready now (`nextRetryAtMs` = now), expiring `ttlMs` after creation (default 24 h).
 */
export function newQueueItem(input: NewQueueItemInput, clock: Clock): QueueItem {
  const nowMs = clock.nowMs();
  const ttlMs = input.ttlMs ?? DEFAULT_QUEUE_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 0)
    throw DomainError.invalid("ttlMs", "must be a non-negative number");
  return new QueueItem(
    {
      id: 0n,
      subscriptionId: input.subscriptionId,
      messageId: input.messageId,
      status: "pending",
      attemptCount: 0,
      lastAttemptAtMs: null,
      nextRetryAtMs: nowMs,
      lastError: null,
      expiresAtMs: nowMs + ttlMs,
      sequenceNumber: input.sequenceNumber,
      operationTimestampMs: nowMs,
      completedAtMs: null,
      createdAtMs: nowMs,
      firstAttemptAtMs: null,
    },
    clock,
  );
}
