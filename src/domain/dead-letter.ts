import type { Clock } from "./clock.js";
import { DomainError } from "./domain-error.js";
import type { QueueItem } from "./queue-item.js";

/**
 * Why a message was dead-lettered. `MAX_ATTEMPTS`: retries exhausted. `EXPIRED`: its TTL passed before
 * delivery. `GONE`: the endpoint answered that it will never accept it (e.g. HTTP 410).
 * `SUBSCRIPTION_DELETED`: the subscription was deleted with the message undelivered.
 */
export type FailureReason = "MAX_ATTEMPTS" | "EXPIRED" | "GONE" | "SUBSCRIPTION_DELETED";

/** Every failure reason, for parsing rows and filters. */
export const FAILURE_REASONS: readonly FailureReason[] = Object.freeze([
  "MAX_ATTEMPTS",
  "EXPIRED",
  "GONE",
  "SUBSCRIPTION_DELETED",
]);

/** True when `value` is one of {@link FAILURE_REASONS}. */
export function isFailureReason(value: string): value is FailureReason {
  return (FAILURE_REASONS as readonly string[]).includes(value);
}

/** The persisted fields of a dead letter; instants are epoch milliseconds, ids are bigint. */
export interface DeadLetterState {
  /** Storage id; `0n` until storage assigns one. */
  id: bigint;
  subscriptionId: bigint;
  messageId: bigint;
  /** The queue item that failed. */
  originalQueueId: bigint;
  /** Attempts made before dead-lettering. */
  attemptCount: number;
  /** Last delivery error; `null` when the item was never attempted (e.g. it expired first). */
  lastError: string | null;
  failureReason: FailureReason;
  /** HTTP status of the last push attempt; `null` when there was none (pull, network error). */
  lastHttpStatus: number | null;
  /** `null` when the item was never attempted. */
  firstAttemptAtMs: number | null;
  /** `null` when the item was never attempted. */
  lastAttemptAtMs: number | null;
  movedToDlqAtMs: number;
  /** Copy of the message payload, so operators can inspect it without joins. */
  messageData: Uint8Array;
  /** Webhook the message was pushed to; `null` for pull subscriptions. */
  callbackUrl: string | null;
  isResolved: boolean;
  resolvedAtMs: number | null;
  /** Operator or system that resolved the item; `null` until resolved. */
  resolvedBy: string | null;
  /** What was done about it; `null` until resolved. */
  resolutionNote: string | null;
  createdAtMs: number;
}

/** Input of {@link newDeadLetter}: the failure and the denormalised message and endpoint. */
export interface NewDeadLetterInput {
  subscriptionId: bigint;
  messageId: bigint;
  originalQueueId: bigint;
  attemptCount: number;
  lastError: string | null;
  failureReason: FailureReason;
  firstAttemptAtMs: number | null;
  lastAttemptAtMs: number | null;
  messageData: Uint8Array;
  callbackUrl: string | null;
  /** Default `null`. */
  lastHttpStatus?: number | null;
}

/**
 * A message that permanently failed delivery (the seed's `DeadLetterQueue`): an audit record with full
 * diagnostics that stays until an operator resolves or deletes it.
 */
export class DeadLetter implements DeadLetterState {
  id: bigint;
  subscriptionId: bigint;
  messageId: bigint;
  originalQueueId: bigint;
  attemptCount: number;
  lastError: string | null;
  failureReason: FailureReason;
  lastHttpStatus: number | null;
  firstAttemptAtMs: number | null;
  lastAttemptAtMs: number | null;
  movedToDlqAtMs: number;
  messageData: Uint8Array;
  callbackUrl: string | null;
  isResolved: boolean;
  resolvedAtMs: number | null;
  resolvedBy: string | null;
  resolutionNote: string | null;
  createdAtMs: number;
  readonly #clock: Clock;

  /** Rebuilds a dead letter from stored state (e.g. a storage row); the state object is copied. */
  constructor(state: DeadLetterState, clock: Clock) {
    this.id = state.id;
    this.subscriptionId = state.subscriptionId;
    this.messageId = state.messageId;
    this.originalQueueId = state.originalQueueId;
    this.attemptCount = state.attemptCount;
    this.lastError = state.lastError;
    this.failureReason = state.failureReason;
    this.lastHttpStatus = state.lastHttpStatus;
    this.firstAttemptAtMs = state.firstAttemptAtMs;
    this.lastAttemptAtMs = state.lastAttemptAtMs;
    this.movedToDlqAtMs = state.movedToDlqAtMs;
    this.messageData = state.messageData;
    this.callbackUrl = state.callbackUrl;
    this.isResolved = state.isResolved;
    this.resolvedAtMs = state.resolvedAtMs;
    this.resolvedBy = state.resolvedBy;
    this.resolutionNote = state.resolutionNote;
    this.createdAtMs = state.createdAtMs;
    this.#clock = clock;
  }

  /** A plain copy of the persisted fields, without the clock. */
  toState(): DeadLetterState {
    return {
      id: this.id,
      subscriptionId: this.subscriptionId,
      messageId: this.messageId,
      originalQueueId: this.originalQueueId,
      attemptCount: this.attemptCount,
      lastError: this.lastError,
      failureReason: this.failureReason,
      lastHttpStatus: this.lastHttpStatus,
      firstAttemptAtMs: this.firstAttemptAtMs,
      lastAttemptAtMs: this.lastAttemptAtMs,
      movedToDlqAtMs: this.movedToDlqAtMs,
      messageData: this.messageData,
      callbackUrl: this.callbackUrl,
      isResolved: this.isResolved,
      resolvedAtMs: this.resolvedAtMs,
      resolvedBy: this.resolvedBy,
      resolutionNote: this.resolutionNote,
      createdAtMs: this.createdAtMs,
    };
  }

  /**
   * Marks the item resolved by `resolvedBy` (operator or system, required) with an explanatory `note`.
   * Returns false and keeps the first resolution when the item is already resolved.
   * @throws DomainError invalid_argument when `resolvedBy` is blank.
   */
  resolve(resolvedBy: string, note: string): boolean {
    if (resolvedBy.trim() === "") throw DomainError.invalid("resolved_by", "is required");
    // The seed overwrites; we keep the first resolution because it is the audit record of who acted.
    if (this.isResolved) return false;
    this.isResolved = true;
    this.resolvedAtMs = this.#clock.nowMs();
    this.resolvedBy = resolvedBy;
    this.resolutionNote = note;
    return true;
  }

  /** Milliseconds the item has been in the dead-letter queue. */
  getAgeMs(): number {
    return this.#clock.nowMs() - this.movedToDlqAtMs;
  }

  /** True when the item has been in the dead-letter queue longer than `thresholdMs`. */
  isOld(thresholdMs: number): boolean {
    return this.getAgeMs() > thresholdMs;
  }
}

/**
 * Creates an unresolved dead letter moved now (the seed's `NewDeadLetterQueue`); `movedToDlqAtMs` and
 * `createdAtMs` are the clock's now.
 */
export function newDeadLetter(input: NewDeadLetterInput, clock: Clock): DeadLetter {
  const nowMs = clock.nowMs();
  return new DeadLetter(
    {
      id: 0n,
      subscriptionId: input.subscriptionId,
      messageId: input.messageId,
      originalQueueId: input.originalQueueId,
      attemptCount: input.attemptCount,
      lastError: input.lastError,
      failureReason: input.failureReason,
      lastHttpStatus: input.lastHttpStatus ?? null,
      firstAttemptAtMs: input.firstAttemptAtMs,
      lastAttemptAtMs: input.lastAttemptAtMs,
      movedToDlqAtMs: nowMs,
      messageData: input.messageData,
      callbackUrl: input.callbackUrl,
      isResolved: false,
      resolvedAtMs: null,
      resolvedBy: null,
      resolutionNote: null,
      createdAtMs: nowMs,
    },
    clock,
  );
}

/** What a queue item does not know about its own dead letter. */
export interface DeadLetterDetails {
  failureReason: FailureReason;
  messageData: Uint8Array;
  callbackUrl: string | null;
  lastHttpStatus?: number | null;
}

/** Creates the dead letter for a failed queue item, copying its ids, attempts, last error and attempt times. */
export function newDeadLetterFromQueueItem(
  item: QueueItem,
  details: DeadLetterDetails,
  clock: Clock,
): DeadLetter {
  return newDeadLetter(
    {
      subscriptionId: item.subscriptionId,
      messageId: item.messageId,
      originalQueueId: item.id,
      attemptCount: item.attemptCount,
      lastError: item.lastError,
      firstAttemptAtMs: item.firstAttemptAtMs,
      lastAttemptAtMs: item.lastAttemptAtMs,
      ...details,
    },
    clock,
  );
}
