import type { Knex } from "knex";
import type {
  LogContext,
  LogEntry,
  NotificationLogRepository,
} from "../app/ports/notification-log-repository.js";
import type {
  DeliveryMethod,
  NotificationLog,
  NotificationStatus,
  SubscriberType,
} from "../domain/notification-log.js";
import { idParam, toBigInt, toNumber, toNumberOrNull } from "./row-values.js";

export interface LogRow {
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
   * One INSERT … SELECT per 400 entries: the entries' own values travel as a UNION ALL derived table
   * (portable, and under SQLite's 500-term compound limit), the message identifier and subscriber
   * come from the rows they name.
   */
  async insertForQueueItems(entries: readonly LogEntry[], context: LogContext, nowMs: number): Promise<void> {
    for (let i = 0; i < entries.length; i += 400) {
      const chunk = entries.slice(i, i + 400);
      const values = chunk.flatMap((e) => [
        idParam(e.queueId),
        e.method ?? null,
        e.status,
        e.skippedReason ?? null,
        e.httpStatus ?? null,
        e.durationMs ?? null,
        e.error ?? null,
        e.status === "sent" ? nowMs : null,
      ]);
      const rows = chunk
        .map((_, j) =>
          j === 0
            ? "SELECT CAST(? AS SIGNED) AS qid, ? AS method, ? AS status, ? AS skipped_reason, ? AS http_status, ? AS duration_ms, ? AS error, ? AS sent_at_ms"
            : "SELECT CAST(? AS SIGNED), ?, ?, ?, ?, ?, ?, ?",
        )
        .join(" UNION ALL ");
      await this.db.raw(
        `INSERT INTO notification_logs
           (subscription_id, message_id, queue_item_id, identifier, topic_code, subscriber_type,
            subscriber_id, delivery_method, status, skipped_reason, http_status, duration_ms, error,
            sent_at_ms, created_at_ms)
         SELECT q.subscription_id, q.message_id, q.id, m.identifier, ?, 'client', s.subscriber_id,
                COALESCE(v.method, q.delivery_method, ?), v.status, v.skipped_reason, v.http_status,
                v.duration_ms, v.error, v.sent_at_ms, ?
         FROM (${rows}) v
         JOIN queue_items q ON q.id = v.qid
         JOIN messages m ON m.id = q.message_id
         JOIN subscriptions s ON s.id = q.subscription_id`,
        [context.topicCode, context.defaultMethod, nowMs, ...values],
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
