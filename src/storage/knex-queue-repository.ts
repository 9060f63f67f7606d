import type { Knex } from "knex";
import type {
  FannedOutLease,
  FilteredFanOutTarget,
  QueueRepository,
  QueueRow,
} from "../app/ports/queue-repository.js";
import type { LeaseGrant } from "../domain/queue-item.js";
import { chunked, MAX_IDS_PER_STATEMENT } from "./bound-parameters.js";
import type { Dialect } from "./dialect.js";
import { leaseColumns } from "./lease-columns.js";
import { idParam, toBigInt, toNumber } from "./row-values.js";

interface QueueItemRow {
  id: unknown;
  subscription_id: unknown;
  message_id: unknown;
  status: string;
  attempt_count: unknown;
  expires_at_ms: unknown;
  sequence_number: unknown;
  created_at_ms: unknown;
}

function toQueueRow(row: QueueItemRow): QueueRow {
  return {
    id: toBigInt(row.id),
    subscriptionId: toBigInt(row.subscription_id),
    messageId: toBigInt(row.message_id),
    status: row.status,
    attemptCount: toNumber(row.attempt_count),
    expiresAtMs: toNumber(row.expires_at_ms),
    sequenceNumber: toBigInt(row.sequence_number),
    createdAtMs: toNumber(row.created_at_ms),
  };
}

export class KnexQueueRepository implements QueueRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly dialect: Dialect,
  ) {}

  /**
   * One INSERT … SELECT creates every queue row of a publish: messages × live subscriptions of their
   * topic whose subscriber is active and whose identifier pattern matches. The sequence number is
   * the message id, which increases in publish order. A scheduled message (deliver_at_ms) becomes
   * available at its time and its TTL counts from it. Subscriptions with an attribute filter are
   * left out: the caller evaluates their filters and uses `fanOutTo`. Ids are taken in slices that
   * fit the parameter limit, in order, so queue rows keep message order.
   */
  async fanOut(messageIds: readonly bigint[], nowMs: number): Promise<number> {
    let created = 0;
    for (const slice of chunked(messageIds, this.dialect.maxBoundParameters - 3)) {
      created += await this.fanOutSlice(slice, nowMs);
    }
    return created;
  }

  private async fanOutSlice(messageIds: readonly bigint[], nowMs: number): Promise<number> {
    const match = this.dialect.identifierMatchSql("m.identifier", "s.identifier_pattern");
    const ids = messageIds.map(idParam);
    const sql = `
      INSERT INTO queue_items
        (subscription_id, message_id, status, attempt_count, available_at_ms, lease_token,
         expires_at_ms, sequence_number, ordering_key_hash, created_at_ms, updated_at_ms)
      SELECT s.id, m.id, 'pending', 0, COALESCE(m.deliver_at_ms, ?), 0,
        COALESCE(m.deliver_at_ms, m.created_at_ms) + s.message_ttl_ms, m.id, m.ordering_key_hash, ?, ?
      FROM messages m
      JOIN subscriptions s ON s.topic_id = m.topic_id
      JOIN subscribers sb ON sb.id = s.subscriber_id
      WHERE m.id IN (${ids.map(() => "?").join(", ")})
        AND s.deleted_at_ms IS NULL AND s.is_active = 1 AND sb.is_active = 1
        AND s.attribute_filter = ''
        AND ${match}
      ORDER BY m.id, s.id`;
    const result = await this.db.raw(sql, [nowMs, nowMs, nowMs, ...ids]);
    return affectedRows(result);
  }

  async listFilteredTargets(topicIds: readonly bigint[]): Promise<FilteredFanOutTarget[]> {
    if (topicIds.length === 0) return [];
    const rows = (await this.db("subscriptions as s")
      .join("subscribers as sb", "sb.id", "s.subscriber_id")
      .whereIn("s.topic_id", topicIds.map(idParam))
      .whereNull("s.deleted_at_ms")
      .where("s.is_active", true)
      .where("sb.is_active", true)
      .whereNot("s.attribute_filter", "")
      .orderBy("s.id")
      .select("s.id", "s.topic_id", "s.identifier_filter", "s.attribute_filter")) as {
      id: unknown;
      topic_id: unknown;
      identifier_filter: string;
      attribute_filter: string;
    }[];
    return rows.map((r) => ({
      subscriptionId: toBigInt(r.id),
      topicId: toBigInt(r.topic_id),
      identifierFilter: r.identifier_filter,
      attributeFilter: r.attribute_filter,
    }));
  }

  async fanOutTo(subscriptionId: bigint, messageIds: readonly bigint[], nowMs: number): Promise<number> {
    let created = 0;
    for (const slice of chunked(messageIds, this.dialect.maxBoundParameters - 4)) {
      created += await this.fanOutToSlice(subscriptionId, slice, nowMs);
    }
    return created;
  }

  private async fanOutToSlice(
    subscriptionId: bigint,
    messageIds: readonly bigint[],
    nowMs: number,
  ): Promise<number> {
    const ids = messageIds.map(idParam);
    const sql = `
      INSERT INTO queue_items
        (subscription_id, message_id, status, attempt_count, available_at_ms, lease_token,
         expires_at_ms, sequence_number, ordering_key_hash, created_at_ms, updated_at_ms)
      SELECT s.id, m.id, 'pending', 0, COALESCE(m.deliver_at_ms, ?), 0,
        COALESCE(m.deliver_at_ms, m.created_at_ms) + s.message_ttl_ms, m.id, m.ordering_key_hash, ?, ?
      FROM messages m
      JOIN subscriptions s ON s.id = ?
      WHERE m.id IN (${ids.map(() => "?").join(", ")})
      ORDER BY m.id`;
    const result = await this.db.raw(sql, [nowMs, nowMs, nowMs, idParam(subscriptionId), ...ids]);
    return affectedRows(result);
  }

  async leaseFannedOut(
    subscriptionId: bigint,
    messageIds: readonly bigint[],
    grant: LeaseGrant,
    nowMs: number,
  ): Promise<FannedOutLease[]> {
    const leases: FannedOutLease[] = [];
    for (const chunk of chunked(messageIds, MAX_IDS_PER_STATEMENT)) {
      const ids = chunk.map(idParam);
      // The same write as a claim's markLeased, on rows no one else can see yet.
      await this.db("queue_items")
        .where("subscription_id", idParam(subscriptionId))
        .whereIn("message_id", ids)
        .where("status", "pending")
        // A row not yet due (a scheduled message) waits for its time like any other.
        .where("available_at_ms", "<=", nowMs)
        .update(leaseColumns(this.db, grant, nowMs));
      const rows = (await this.db("queue_items")
        .where("subscription_id", idParam(subscriptionId))
        .whereIn("message_id", ids)
        .where("status", "leased")
        .orderBy("message_id")
        .select("id", "message_id", "lease_token")) as {
        id: unknown;
        message_id: unknown;
        lease_token: unknown;
      }[];
      for (const r of rows) {
        leases.push({
          queueId: toBigInt(r.id),
          messageId: toBigInt(r.message_id),
          leaseToken: toBigInt(r.lease_token),
        });
      }
    }
    return leases;
  }

  async listByMessage(messageId: bigint): Promise<QueueRow[]> {
    const rows = (await this.db("queue_items")
      .where("message_id", idParam(messageId))
      .orderBy("id", "asc")) as QueueItemRow[];
    return rows.map(toQueueRow);
  }
}

/** mysql2 reports affectedRows in a ResultSetHeader; better-sqlite3 reports changes in a RunResult. */
function affectedRows(result: unknown): number {
  if (Array.isArray(result)) return toNumber((result[0] as { affectedRows: unknown }).affectedRows);
  return toNumber((result as { changes: unknown }).changes);
}
