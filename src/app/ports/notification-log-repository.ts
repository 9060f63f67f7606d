/** Storage port of the notification log: one row per delivery attempt outcome. */
import type { DeliveryMethod, NotificationLog, NotificationStatus } from "../../domain/notification-log.js";

export interface LogEntry {
  queueId: bigint;
  status: NotificationStatus;
  /** Overrides the queue row's delivery method (e.g. for items that expired before any attempt). */
  method?: DeliveryMethod;
  error?: string | null;
  skippedReason?: string | null;
  httpStatus?: number | null;
  durationMs?: number | null;
}

export interface LogContext {
  topicCode: string;
  /** Used when an entry names no method and its queue row has none. */
  defaultMethod: DeliveryMethod;
}

export interface NotificationLogRepository {
  /** Writes one log row per entry, with identifier, subscription and subscriber taken from the queue row. */
  insertForQueueItems(entries: readonly LogEntry[], context: LogContext, nowMs: number): Promise<void>;
  listByMessage(messageId: bigint): Promise<NotificationLog[]>;
}
