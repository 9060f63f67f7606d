/**
 * Storage port of the dead-letter table as the delivery engine writes it (items that ran out of attempts or time).
 */
import type { DeadLetter, FailureReason } from "../../domain/dead-letter.js";

export interface DeadLetterEntry {
  queueId: bigint;
  failureReason: FailureReason;
  lastError: string | null;
  lastHttpStatus: number | null;
}

export interface DeadLetterRepository {
  /** Writes one dead-letter row per queue row, copying message data and callback URL (set-based). */
  insertFromQueue(entries: readonly DeadLetterEntry[], nowMs: number): Promise<void>;
  listBySubscription(subscriptionId: bigint): Promise<DeadLetter[]>;
  /** Unresolved dead letters of the subscription. */
  countUnresolved(subscriptionId: bigint): Promise<number>;
}
