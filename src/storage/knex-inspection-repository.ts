import type { Knex } from "knex";
import type {
  InspectionRepository,
  NotificationLogFilter,
  QueueItemDetails,
  SubscriptionStats,
} from "../app/ports/inspection-repository.js";
import type { Page, PageRequest } from "../app/ports/paging.js";
import type { NotificationLog } from "../domain/notification-log.js";
import type { QueueStatus } from "../domain/queue-item.js";
import { type LogRow, toNotificationLog } from "./knex-notification-log-repository.js";
import { pageById } from "./page-query.js";
import { idParam, toBigInt, toBytes, toNumber, toNumberOrNull } from "./row-values.js";

interface DetailsRow {
  id: unknown;
  message_id: unknown;
  subscription_id: unknown;
  status: string;
  attempt_count: unknown;
  last_attempt_at_ms: unknown;
  next_retry_at_ms: unknown;
  last_error: string | null;
  sequence_number: unknown;
  expires_at_ms: unknown;
  created_at_ms: unknown;
  identifier: string;
  data: unknown;
  push_endpoint: string;
  webhook_url: string;
  delivery_type: string;
  subscriber_id: unknown;
  lease_expires_at_ms: unknown;
  delivery_method: string | null;
  deliver_at_ms: unknown;
}

function toDetails(row: DetailsRow): QueueItemDetails {
  return {
    queueId: toBigInt(row.id),
    messageId: toBigInt(row.message_id),
    subscriptionId: toBigInt(row.subscription_id),
    status: row.status as QueueStatus,
    attemptCount: toNumber(row.attempt_count),
    lastAttemptAtMs: toNumberOrNull(row.last_attempt_at_ms),
    nextRetryAtMs: toNumberOrNull(row.next_retry_at_ms),
    lastError: row.last_error,
    sequenceNumber: toBigInt(row.sequence_number),
    expiresAtMs: toNumber(row.expires_at_ms),
    createdAtMs: toNumber(row.created_at_ms),
    identifier: row.identifier,
    data: toBytes(row.data),
    callbackUrl:
      row.delivery_type !== "push" ? "" : row.push_endpoint !== "" ? row.push_endpoint : row.webhook_url,
    subscriberId: toBigInt(row.subscriber_id),
    leaseExpiresAtMs: toNumberOrNull(row.lease_expires_at_ms),
    deliveryMethod: row.delivery_method,
    deliverAtMs: toNumberOrNull(row.deliver_at_ms),
  };
}

const HOUR_MS = 60 * 60 * 1000;

export class KnexInspectionRepository implements InspectionRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  listQueueItems(
    subscriptionId: bigint,
    status: QueueStatus | undefined,
    page: PageRequest,
  ): Promise<Page<QueueItemDetails>> {
    const query = this.db("queue_items as q")
      .join("messages as m", "m.id", "q.message_id")
      .join("subscriptions as s", "s.id", "q.subscription_id")
      .join("subscribers as sb", "sb.id", "s.subscriber_id")
      .select(
        "q.id",
        "q.message_id",
        "q.subscription_id",
        "q.status",
        "q.attempt_count",
        "q.last_attempt_at_ms",
        "q.next_retry_at_ms",
        "q.last_error",
        "q.sequence_number",
        "q.expires_at_ms",
        "q.created_at_ms",
        "q.lease_expires_at_ms",
        "q.delivery_method",
        "m.identifier",
        "m.data",
        "m.deliver_at_ms",
        "s.push_endpoint",
        "s.delivery_type",
        "s.subscriber_id",
        "sb.webhook_url",
      )
      .where("q.subscription_id", idParam(subscriptionId));
    if (status !== undefined) query.where("q.status", status);
    return pageById(query, page, toDetails, "q.id");
  }

  async subscriptionStats(subscriptionId: bigint, nowMs: number): Promise<SubscriptionStats> {
    const id = idParam(subscriptionId);
    const byStatus = (await this.db("queue_items")
      .select("status")
      .count({ n: "*" })
      .min({ oldest: "created_at_ms" })
      .where("subscription_id", id)
      .whereIn("status", ["pending", "leased", "failed"])
      .groupBy("status")) as { status: string; n: unknown; oldest: unknown }[];
    const count = (status: string) => toNumber(byStatus.find((r) => r.status === status)?.n ?? 0);
    const oldest = byStatus.map((r) => toNumberOrNull(r.oldest)).filter((v): v is number => v !== null);
    const recent = (await this.db("notification_logs")
      .select("status")
      .count({ n: "*" })
      .where("subscription_id", id)
      .where("created_at_ms", ">=", nowMs - HOUR_MS)
      .whereIn("status", ["sent", "failed"])
      .groupBy("status")) as { status: string; n: unknown }[];
    const scheduled = (await this.db("queue_items as q")
      .join("messages as m", "m.id", "q.message_id")
      .count({ n: "*" })
      .where("q.subscription_id", id)
      .where("q.status", "pending")
      .where("m.deliver_at_ms", ">", nowMs)
      .first()) as { n: unknown } | undefined;
    const dead = (await this.db("dead_letters")
      .count({ n: "*" })
      .where({ subscription_id: id, is_resolved: false })
      .first()) as { n: unknown } | undefined;
    return {
      backlog: count("pending"),
      inFlight: count("leased"),
      waitingForRetry: count("failed"),
      oldestUnackedAgeSeconds:
        oldest.length === 0 ? 0 : Math.max(0, Math.floor((nowMs - Math.min(...oldest)) / 1000)),
      sentLastHour: toNumber(recent.find((r) => r.status === "sent")?.n ?? 0),
      failedLastHour: toNumber(recent.find((r) => r.status === "failed")?.n ?? 0),
      deadLettersUnresolved: dead ? toNumber(dead.n) : 0,
      scheduled: scheduled ? toNumber(scheduled.n) : 0,
    };
  }

  listNotificationLogs(filter: NotificationLogFilter, page: PageRequest): Promise<Page<NotificationLog>> {
    const query = this.db("notification_logs").select("*");
    if (filter.messageId !== undefined) query.where("message_id", idParam(filter.messageId));
    if (filter.subscriptionId !== undefined) query.where("subscription_id", idParam(filter.subscriptionId));
    if (filter.subscriberId !== undefined) query.where("subscriber_id", idParam(filter.subscriberId));
    if (filter.deliveryMethod !== undefined) query.where("delivery_method", filter.deliveryMethod);
    if (filter.status !== undefined) query.where("status", filter.status);
    if (filter.startMs !== undefined) query.where("created_at_ms", ">=", filter.startMs);
    if (filter.endMs !== undefined) query.where("created_at_ms", "<", filter.endMs);
    return pageById<LogRow, NotificationLog>(query, page, toNotificationLog, "id", "desc");
  }
}
