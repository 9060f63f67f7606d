import type { Knex } from "knex";
import type { QueueGaugeRepository, SubscriptionBacklog } from "../app/ports/queue-gauge-repository.js";
import { toNumber, toNumberOrNull } from "./row-values.js";

/** Unfinished queue rows; `sent` and `dead_lettered` are terminal. */
const UNACKED_STATUSES = ["pending", "leased", "failed"] as const;

/**
 * The scrape-time aggregates behind the queue gauges. Each is one statement whatever the number of
 * subscriptions; the status filter is a range on queue_items_sweep_idx (status, …), so the cost
 * follows the unacked rows, not the table's history.
 */
export class KnexQueueGaugeRepository implements QueueGaugeRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async backlogBySubscription(): Promise<SubscriptionBacklog[]> {
    const unacked = this.db("queue_items")
      .select("subscription_id")
      .count({ unacked: "*" })
      .min({ oldest_at_ms: "created_at_ms" })
      .whereIn("status", UNACKED_STATUSES)
      .groupBy("subscription_id")
      .as("b");
    const rows = (await this.db("subscriptions as s")
      .select("s.name", "b.unacked", "b.oldest_at_ms")
      .leftJoin(unacked, "b.subscription_id", "s.id")
      .whereNull("s.deleted_at_ms")
      .orderBy("s.id")) as { name: string; unacked: unknown; oldest_at_ms: unknown }[];
    return rows.map((row) => ({
      subscriptionName: row.name,
      unacked: row.unacked === null || row.unacked === undefined ? 0 : toNumber(row.unacked),
      oldestUnackedAtMs: toNumberOrNull(row.oldest_at_ms),
    }));
  }

  async countUnresolvedDeadLetters(): Promise<number> {
    const row = (await this.db("dead_letters").count({ n: "*" }).where("is_resolved", false).first()) as
      | { n: unknown }
      | undefined;
    return row ? toNumber(row.n) : 0;
  }
}
