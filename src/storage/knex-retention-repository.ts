import type { Knex } from "knex";
import type {
  MessageCursor,
  PrunePassBatch,
  RetentionRepository,
} from "../app/ports/retention-repository.js";
import { idParam, toBigInt, toNumber, toNumberOrNull } from "./row-values.js";

/** Terminal queue states: the only rows retention may delete. */
const DELIVERED = ["sent", "dead_lettered"] as const;

/**
 * RetentionRepository on knex. Every batch selects keys first and then deletes by key: MySQL
 * cannot DELETE from a table it reads in its own subquery, and a plain `DELETE … WHERE <age>` would
 * lock every matching row (and the index gaps) in one long statement. The selects are non-locking
 * reads; each delete repeats its conditions, so a row changed in between is kept.
 */
export class KnexRetentionRepository implements RetentionRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async pruneQueueItems(
    afterId: bigint,
    cutoffMs: number,
    limit: number,
    nowMs: number,
  ): Promise<PrunePassBatch<bigint>> {
    // A primary-key range read of exactly `limit` rows: queue_items has no index on completion
    // time, and adding one would cost every publish and ack a further index write.
    const rows = (await this.db("queue_items")
      .select("id", "status", "created_at_ms", "completed_at_ms")
      .where("id", ">", idParam(afterId))
      .orderBy("id", "asc")
      .limit(limit)) as { id: unknown; status: string; created_at_ms: unknown; completed_at_ms: unknown }[];
    const eligible: string[] = [];
    let lastExamined = afterId;
    let isPastCutoff = false;
    for (const row of rows) {
      if (toNumber(row.created_at_ms) > cutoffMs) {
        isPastCutoff = true;
        break;
      }
      lastExamined = toBigInt(row.id);
      const completedAtMs = toNumberOrNull(row.completed_at_ms);
      const isDelivered = (DELIVERED as readonly string[]).includes(row.status);
      if (isDelivered && completedAtMs !== null && completedAtMs <= cutoffMs) eligible.push(String(row.id));
    }
    const next = isPastCutoff || rows.length < limit ? null : lastExamined;
    if (eligible.length === 0) return { deleted: 0, next };
    const deleted = await this.db("queue_items")
      .whereIn("id", eligible)
      .whereIn("status", DELIVERED)
      .where("completed_at_ms", "<=", cutoffMs)
      // retain_acked_messages: an acked row stays for the subscription's TTL from its publish.
      .whereNot((kept) =>
        kept
          .where("status", "sent")
          .whereExists((q) =>
            q
              .select(this.db.raw("1"))
              .from("subscriptions as s")
              .join("messages as m", "m.id", "queue_items.message_id")
              .whereRaw("s.id = queue_items.subscription_id")
              .where("s.retain_acked_messages", true)
              .whereRaw("m.created_at_ms + s.message_ttl_ms > ?", [nowMs]),
          ),
      )
      .delete();
    return { deleted, next };
  }

  async pruneNotificationLogs(cutoffMs: number, limit: number): Promise<number> {
    const rows = (await this.db("notification_logs")
      .select("id")
      .where("created_at_ms", "<=", cutoffMs)
      .orderBy([
        { column: "created_at_ms", order: "asc" },
        { column: "id", order: "asc" },
      ])
      .limit(limit)) as { id: unknown }[];
    if (rows.length === 0) return 0;
    return this.db("notification_logs")
      .whereIn(
        "id",
        rows.map((r) => String(r.id)),
      )
      .delete();
  }

  async pruneMessages(
    after: MessageCursor | null,
    cutoffMs: number,
    limit: number,
    nowMs: number,
  ): Promise<PrunePassBatch<MessageCursor>> {
    // Walks messages_created_idx (which carries the primary key), reading no message bodies.
    const query = this.db("messages").select("id", "created_at_ms").where("created_at_ms", "<=", cutoffMs);
    if (after) {
      query.where((w) =>
        w
          .where("created_at_ms", ">", after.createdAtMs)
          .orWhere((same) =>
            same.where("created_at_ms", "=", after.createdAtMs).andWhere("id", ">", idParam(after.id)),
          ),
      );
    }
    const rows = (await query
      .orderBy([
        { column: "created_at_ms", order: "asc" },
        { column: "id", order: "asc" },
      ])
      .limit(limit)) as { id: unknown; created_at_ms: unknown }[];
    const last = rows[rows.length - 1];
    const next =
      rows.length < limit || !last
        ? null
        : { createdAtMs: toNumber(last.created_at_ms), id: toBigInt(last.id) };
    if (rows.length === 0) return { deleted: 0, next };
    const deleted = await this.db("messages")
      .whereIn(
        "id",
        rows.map((r) => String(r.id)),
      )
      .where("created_at_ms", "<=", cutoffMs)
      .whereNotExists((q) =>
        q.select(this.db.raw("1")).from("queue_items").whereRaw("queue_items.message_id = messages.id"),
      )
      .whereNotExists((q) =>
        q.select(this.db.raw("1")).from("dead_letters").whereRaw("dead_letters.message_id = messages.id"),
      )
      // The topic's message retention keeps messages every subscription acked (or none had).
      .whereNotExists((q) =>
        q
          .select(this.db.raw("1"))
          .from("topics")
          .whereRaw("topics.id = messages.topic_id")
          .whereRaw("messages.created_at_ms + topics.message_retention_ms > ?", [nowMs]),
      )
      // A live snapshot holds the messages unacked when it was taken (by row) and every message
      // of its topic published afterwards (by its high-water mark), so Seek can bring them back.
      .whereNotExists((q) =>
        q
          .select(this.db.raw("1"))
          .from("snapshot_items as si")
          .join("snapshots as sn", "sn.id", "si.snapshot_id")
          .whereRaw("si.message_id = messages.id")
          .where("sn.expire_at_ms", ">", nowMs),
      )
      .whereNotExists((q) =>
        q
          .select(this.db.raw("1"))
          .from("snapshots as sn")
          .whereRaw("sn.topic_id = messages.topic_id")
          .whereRaw("messages.id > sn.after_message_id")
          .where("sn.expire_at_ms", ">", nowMs),
      )
      .delete();
    return { deleted, next };
  }

  async pruneExpiredDedup(nowMs: number, limit: number): Promise<number> {
    const rows = (await this.db("message_dedup")
      .select("publisher_id", "dedup_id")
      .where("expires_at_ms", "<=", nowMs)
      .orderBy("expires_at_ms", "asc")
      .limit(limit)) as { publisher_id: unknown; dedup_id: unknown }[];
    // The key is (publisher_id, dedup_id): one delete per publisher keeps the SQL portable (no
    // row-value IN lists) and the statements few. dedup_id goes back exactly as read (a Buffer
    // from MySQL's VARBINARY).
    const byPublisher = new Map<string, unknown[]>();
    for (const row of rows) {
      const publisherId = String(row.publisher_id);
      const keys = byPublisher.get(publisherId) ?? [];
      keys.push(row.dedup_id);
      byPublisher.set(publisherId, keys);
    }
    let deleted = 0;
    for (const [publisherId, dedupIds] of byPublisher) {
      deleted += await this.db("message_dedup")
        .where("publisher_id", publisherId)
        .whereIn("dedup_id", dedupIds as Knex.Value[])
        .where("expires_at_ms", "<=", nowMs)
        .delete();
    }
    return deleted;
  }
}
