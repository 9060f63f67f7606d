import type { Knex } from "knex";
import type {
  DeliveryHistoryFilter,
  DeliveryHistoryRepository,
  MinuteDeliveries,
} from "../app/ports/delivery-history-repository.js";
import { idParam, toNumber } from "./row-values.js";

const MINUTE_MS = 60_000;

/**
 * Per-minute counts grouped by the database: every instance draws the same chart, and at most
 * 2 rows per minute of the window travel back. The minute is `created_at_ms - created_at_ms % 60000`,
 * which SQLite and MySQL both compute exactly on integers (FLOOR is missing from some SQLite builds).
 * The window is read through notification_logs_subscription_idx (subscription_id, created_at_ms)
 * or notification_logs_created_idx (created_at_ms).
 */
export class KnexDeliveryHistoryRepository implements DeliveryHistoryRepository {
  constructor(private readonly db: Knex) {}

  async deliveriesPerMinute(filter: DeliveryHistoryFilter): Promise<MinuteDeliveries[]> {
    const minute = this.db.raw(`created_at_ms - (created_at_ms % ${MINUTE_MS})`);
    const query = this.db("notification_logs")
      .select({ minute, status: "status" })
      .count({ n: "*" })
      .where("created_at_ms", ">=", filter.sinceMs)
      .whereIn("status", ["sent", "failed"])
      .groupByRaw(`created_at_ms - (created_at_ms % ${MINUTE_MS}), status`);
    if (filter.subscriptionId !== undefined) query.where("subscription_id", idParam(filter.subscriptionId));
    if (filter.subscriberId !== undefined) query.where("subscriber_id", idParam(filter.subscriberId));
    const rows = (await query) as { minute: unknown; status: string; n: unknown }[];
    const byMinute = new Map<number, MinuteDeliveries>();
    for (const row of rows) {
      const minuteStartMs = toNumber(row.minute);
      const entry = byMinute.get(minuteStartMs) ?? { minuteStartMs, sent: 0, failed: 0 };
      if (row.status === "sent") entry.sent += toNumber(row.n);
      else entry.failed += toNumber(row.n);
      byMinute.set(minuteStartMs, entry);
    }
    return [...byMinute.values()].sort((a, b) => a.minuteStartMs - b.minuteStartMs);
  }
}
