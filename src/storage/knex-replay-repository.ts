import type { Knex } from "knex";
import type { ReplayCandidate, ReplayRepository, SeekRow } from "../app/ports/replay-repository.js";
import type { QueueStatus } from "../domain/queue-item.js";
import { chunked, MAX_IDS_PER_STATEMENT } from "./bound-parameters.js";
import type { Dialect } from "./dialect.js";
import { idParam, toBigInt, toNumber } from "./row-values.js";

const UNFINISHED: readonly QueueStatus[] = ["pending", "leased", "failed"];

/**
 * ReplayRepository on knex. Seek walks a subscription's rows on queue_items_status_idx's
 * (subscription_id, …, id) prefix by primary key, one page per transaction, and changes rows by
 * id with their expected status repeated in the UPDATE, so every statement stays small.
 */
export class KnexReplayRepository implements ReplayRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly dialect: Dialect,
  ) {}

  async lockSeekPage(subscriptionId: bigint, afterId: bigint, limit: number): Promise<SeekRow[]> {
    const q = this.db("queue_items as q")
      .join("messages as m", "m.id", "q.message_id")
      .select("q.id", "q.status", "m.created_at_ms")
      .where("q.subscription_id", idParam(subscriptionId))
      .where("q.id", ">", idParam(afterId))
      .orderBy("q.id", "asc")
      .limit(limit);
    // MariaDB has no FOR UPDATE OF: this also share-locks nothing else that anyone writes
    // (messages are immutable), and SQLite's single writer needs no row locks.
    const rows = (await (this.dialect.name === "mysql" ? q.forUpdate() : q)) as {
      id: unknown;
      status: string;
      created_at_ms: unknown;
    }[];
    return rows.map((r) => ({
      id: toBigInt(r.id),
      status: r.status as QueueStatus,
      publishedAtMs: toNumber(r.created_at_ms),
    }));
  }

  async ackBySeek(ids: readonly bigint[], nowMs: number): Promise<number> {
    return this.updateByIds(ids, UNFINISHED, {
      status: "sent",
      available_at_ms: null,
      completed_at_ms: nowMs,
      updated_at_ms: nowMs,
    });
  }

  async requeueBySeek(
    ids: readonly bigint[],
    fromStatuses: readonly QueueStatus[],
    nowMs: number,
    messageTtlMs: number,
  ): Promise<number> {
    return this.updateByIds(ids, fromStatuses, {
      status: "pending",
      available_at_ms: nowMs,
      completed_at_ms: null,
      expires_at_ms: nowMs + messageTtlMs,
      updated_at_ms: nowMs,
    });
  }

  /**
   * Applies `values` to the rows among `ids` still in one of `fromStatuses`, with a new lease token
   * and no lease or retry time (every seek transition does both), and returns how many changed.
   */
  private async updateByIds(
    ids: readonly bigint[],
    fromStatuses: readonly QueueStatus[],
    values: Record<string, unknown>,
  ): Promise<number> {
    let changed = 0;
    for (const chunk of chunked(ids, MAX_IDS_PER_STATEMENT)) {
      changed += await this.db("queue_items")
        .whereIn("id", chunk.map(idParam))
        .whereIn("status", fromStatuses)
        .update({
          ...values,
          lease_token: this.db.raw("lease_token + 1"),
          lease_owner: null,
          lease_expires_at_ms: null,
          next_retry_at_ms: null,
        });
    }
    return changed;
  }

  async listTopicMessagesSince(
    topicId: bigint,
    subscriptionId: bigint,
    sinceMs: number,
    afterMessageId: bigint,
    limit: number,
  ): Promise<{ candidates: ReplayCandidate[]; next: bigint | null }> {
    // messages_topic_idx (topic_id, id); no payloads are read.
    const rows = (await this.db("messages")
      .select("id", "identifier", "attributes")
      .where("topic_id", idParam(topicId))
      .where("id", ">", idParam(afterMessageId))
      .where("created_at_ms", ">=", sinceMs)
      .orderBy("id", "asc")
      .limit(limit)) as { id: unknown; identifier: string; attributes: unknown }[];
    const last = rows[rows.length - 1];
    const next = rows.length < limit || !last ? null : toBigInt(last.id);
    if (rows.length === 0) return { candidates: [], next };
    const present = new Set(
      (
        (await this.db("queue_items")
          .select("message_id")
          .where("subscription_id", idParam(subscriptionId))
          .whereIn(
            "message_id",
            rows.map((r) => idParam(toBigInt(r.id))),
          )) as { message_id: unknown }[]
      ).map((r) => toBigInt(r.message_id)),
    );
    const candidates = rows
      .filter((r) => !present.has(toBigInt(r.id)))
      .map((r) => ({
        messageId: toBigInt(r.id),
        identifier: r.identifier,
        // MariaDB's JSON columns come back parsed, SQLite's as text.
        attributes: (typeof r.attributes === "string" ? JSON.parse(r.attributes) : r.attributes) as Record<
          string,
          string
        >,
      }));
    return { candidates, next };
  }

  async insertReplayRows(
    subscriptionId: bigint,
    messageIds: readonly bigint[],
    nowMs: number,
  ): Promise<number> {
    let created = 0;
    for (const chunk of chunked(messageIds, this.dialect.maxBoundParameters - 8)) {
      const ids = chunk.map(idParam);
      const sql = `
        INSERT INTO queue_items
          (subscription_id, message_id, status, attempt_count, available_at_ms, lease_token,
           expires_at_ms, sequence_number, ordering_key_hash, created_at_ms, updated_at_ms)
        SELECT s.id, m.id, 'pending', 0, CASE WHEN m.deliver_at_ms > ? THEN m.deliver_at_ms ELSE ? END, 0,
          ? + s.message_ttl_ms, m.id, m.ordering_key_hash, ?, ?
        FROM messages m
        JOIN subscriptions s ON s.id = ?
        WHERE m.id IN (${ids.map(() => "?").join(", ")})
          AND NOT EXISTS (SELECT 1 FROM queue_items q WHERE q.subscription_id = s.id AND q.message_id = m.id)
        ORDER BY m.id`;
      const result = await this.db.raw(sql, [
        nowMs,
        nowMs,
        nowMs,
        nowMs,
        nowMs,
        idParam(subscriptionId),
        ...ids,
      ]);
      created += Array.isArray(result)
        ? toNumber((result[0] as { affectedRows: unknown }).affectedRows)
        : toNumber((result as { changes: unknown }).changes);
    }
    return created;
  }

  async topicRetentionMs(topicId: bigint): Promise<number> {
    const row = (await this.db("topics")
      .select("message_retention_ms")
      .where("id", idParam(topicId))
      .first()) as { message_retention_ms: unknown } | undefined;
    return row ? toNumber(row.message_retention_ms) : 0;
  }
}
