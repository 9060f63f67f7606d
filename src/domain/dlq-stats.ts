import type { FailureReason } from "./dead-letter.js";

/** Aggregate figures about the dead-letter queue for dashboards. */
export interface DlqStats {
  totalItems: number;
  unresolvedItems: number;
  resolvedItems: number;
  /** Age of the oldest item, in whole seconds; 0 when the queue is empty. */
  oldestItemAgeSeconds: number;
  /** Age of the newest item, in whole seconds; 0 when the queue is empty. */
  newestItemAgeSeconds: number;
  /** Most frequent failure reason; `null` when the queue is empty. */
  topFailureReason: FailureReason | null;
  /** When the figures were computed, epoch ms. */
  lastUpdatedMs: number;
}
