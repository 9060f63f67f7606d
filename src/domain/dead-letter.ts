/**
 * Why a message was dead-lettered. `MAX_ATTEMPTS`: retries exhausted. `EXPIRED`: its TTL passed before
 * delivery. `GONE`: the endpoint answered that it will never accept it (e.g. HTTP 410).
 * `SUBSCRIPTION_DELETED`: the subscription was deleted with the message undelivered. `REJECTED`:
 * the consumer rejected it (SubscriberService.Reject), a terminal nack.
 */
export type FailureReason = "MAX_ATTEMPTS" | "EXPIRED" | "GONE" | "SUBSCRIPTION_DELETED" | "REJECTED";

/** Every failure reason, for parsing rows and filters. */
export const FAILURE_REASONS: readonly FailureReason[] = Object.freeze([
  "MAX_ATTEMPTS",
  "EXPIRED",
  "GONE",
  "SUBSCRIPTION_DELETED",
  "REJECTED",
]);

/** True when `value` is one of {@link FAILURE_REASONS}. */
export function isFailureReason(value: string): value is FailureReason {
  return (FAILURE_REASONS as readonly string[]).includes(value);
}

/**
 * A message that permanently failed delivery: an audit record with full diagnostics, written when
 * its queue item is dead-lettered, that stays until an operator replays, resolves or deletes it.
 * Instants are epoch milliseconds, ids are bigint.
 */
export interface DeadLetter {
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
