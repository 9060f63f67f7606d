/**
 * Storage port of inspection: the queue and the notification log as operators see them. Aggregates are computed by the database, never by loading rows.
 */
import type { NotificationLog } from "../../domain/notification-log.js";
import type { QueueStatus } from "../../domain/queue-item.js";
import type { Page, PageRequest } from "./paging.js";

/** A queue row with its message and retry state, for inspection. */
export interface QueueItemDetails {
  queueId: bigint;
  messageId: bigint;
  subscriptionId: bigint;
  status: QueueStatus;
  attemptCount: number;
  lastAttemptAtMs: number | null;
  nextRetryAtMs: number | null;
  lastError: string | null;
  sequenceNumber: bigint;
  expiresAtMs: number;
  createdAtMs: number;
  identifier: string;
  data: Uint8Array;
  callbackUrl: string;
  subscriberId: bigint;
  leaseExpiresAtMs: number | null;
  deliveryMethod: string | null;
  /** The message's scheduled delivery time (epoch ms); null when published for immediate delivery. */
  deliverAtMs: number | null;
}

export interface SubscriptionStats {
  backlog: number;
  inFlight: number;
  waitingForRetry: number;
  oldestUnackedAgeSeconds: number;
  sentLastHour: number;
  failedLastHour: number;
  deadLettersUnresolved: number;
  /** Pending rows whose message is scheduled for later (part of `backlog`). */
  scheduled: number;
}

export interface NotificationLogFilter {
  messageId?: bigint;
  subscriptionId?: bigint;
  subscriberId?: bigint;
  deliveryMethod?: string;
  status?: string;
  startMs?: number;
  endMs?: number;
}

export interface InspectionRepository {
  listQueueItems(
    subscriptionId: bigint,
    status: QueueStatus | undefined,
    page: PageRequest,
  ): Promise<Page<QueueItemDetails>>;
  subscriptionStats(subscriptionId: bigint, nowMs: number): Promise<SubscriptionStats>;
  /** Newest first (keyset on id, descending). */
  listNotificationLogs(filter: NotificationLogFilter, page: PageRequest): Promise<Page<NotificationLog>>;
}
