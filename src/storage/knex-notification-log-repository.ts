import type { Knex } from "knex";
import type { LogContext, LogEntry, NotificationLogRepository } from "../app/delivery-ports.js";
import type {
  DeliveryMethod,
  NotificationLog,
  NotificationStatus,
  SubscriberType,
} from "../domain/notification-log.js";
import { idParam, toBigInt, toNumber, toNumberOrNull } from "./row-values.js";

interface LogRow {
  id: unknown;
  subscription_id: unknown;
  message_id: unknown;
  queue_item_id: unknown;
  identifier: string;
  topic_code: string;
  subscriber_type: string;
  subscriber_id: unknown;
  delivery_method: string;
  status: string;
  skipped_reason: string | null;
  http_status: unknown;
  duration_ms: unknown;
  error: string | null;
  sent_at_ms: unknown;
  created_at_ms: unknown;
}

export function toNotificationLog(row: LogRow): NotificationLog {
  return {
    id: toBigInt(row.id),
    subscriptionId: toBigInt(row.subscription_id),
    messageId: toBigInt(row.message_id),
    queueItemId: row.queue_item_id === null ? null : toBigInt(row.queue_item_id),
    identifier: row.identifier,
    topicCode: row.topic_code,
    subscriberType: row.subscriber_type as SubscriberType,
    subscriberId: toBigInt(row.subscriber_id),
    deliveryMethod: row.delivery_method as DeliveryMethod,
    status: row.status as NotificationStatus,
    skippedReason: row.skipped_reason,
    httpStatus: toNumberOrNull(row.http_status),
    durationMs: toNumberOrNull(row.duration_ms),
    error: row.error,
    sentAtMs: toNumberOrNull(row.sent_at_ms),
    createdAtMs: toNumber(row.created_at_ms),
  };
}

export class KnexNotificationLogRepository implements NotificationLogRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  /**
   * Set-based: one INSERT … SELECT per distinct outcome in the batch (usually one), taking the
   * message identifier and subscriber from the rows the entries name.
   */
  async insertForQueueItems(entries: readonly LogEntry[], context: LogContext, nowMs: number): Promise<void> {
    const groups = new Map<string, { entry: LogEntry; ids: string[] }>();
    for (const e of entries) {
      const key = JSON.stringify([e.status, e.method, e.error, e.skippedReason, e.httpStatus, e.durationMs]);
      const group = groups.get(key) ?? { entry: e, ids: [] };
      group.ids.push(idParam(e.queueId));
      groups.set(key, group);
    }
    for (const { entry, ids } of groups.values()) {
      await this.db.raw(
        `INSERT INTO notification_logs
           (subscription_id, message_id, queue_item_id, identifier, topic_code, subscriber_type,
            subscriber_id, delivery_method, status, skipped_reason, http_status, duration_ms, error,
            sent_at_ms, created_at_ms)
         SELECT q.subscription_id, q.message_id, q.id, m.identifier, ?, 'client', s.subscriber_id,
                COALESCE(?, q.delivery_method, ?), ?, ?, ?, ?, ?, ?, ?
         FROM queue_items q
         JOIN messages m ON m.id = q.message_id
         JOIN subscriptions s ON s.id = q.subscription_id
         WHERE q.id IN (${ids.map(() => "?").join(", ")})
         ORDER BY q.id`,
        [
          context.topicCode,
          entry.method ?? null,
          context.defaultMethod,
          entry.status,
          entry.skippedReason ?? null,
          entry.httpStatus ?? null,
          entry.durationMs ?? null,
          entry.error ?? null,
          entry.status === "sent" ? nowMs : null,
          nowMs,
          ...ids,
        ],
      );
    }
  }

  async listByMessage(messageId: bigint): Promise<NotificationLog[]> {
    const rows = (await this.db("notification_logs")
      .where("message_id", idParam(messageId))
      .orderBy("id")) as LogRow[];
    return rows.map(toNotificationLog);
  }
}
