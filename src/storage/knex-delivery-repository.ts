import type { Knex } from "knex";
import type {
  ClaimCandidate,
  ClaimQuery,
  DeliveryRepository,
  ExpiredItem,
  FailedAttempt,
} from "../app/ports/delivery-repository.js";
import type { DeliveryMethod } from "../domain/notification-log.js";
import {
  type LeaseGrant,
  type LeaseRef,
  leaseKey,
  type QueueItem,
  type QueueStatus,
} from "../domain/queue-item.js";
import { chunked, MAX_IDS_PER_STATEMENT } from "./bound-parameters.js";
import type { Dialect } from "./dialect.js";
import { leaseColumns } from "./lease-columns.js";
import { idParam, toBigInt, toNumber, toNumberOrNull } from "./row-values.js";

interface QueueItemRow {
  id: unknown;
  subscription_id: unknown;
  message_id: unknown;
  status: string;
  attempt_count: unknown;
  lease_token: unknown;
  lease_expires_at_ms: unknown;
  delivery_method: string | null;
  first_attempt_at_ms: unknown;
  last_attempt_at_ms: unknown;
  next_retry_at_ms: unknown;
  last_error: string | null;
  expires_at_ms: unknown;
  sequence_number: unknown;
  created_at_ms: unknown;
  updated_at_ms: unknown;
}

const COLUMNS = [
  "id",
  "subscription_id",
  "message_id",
  "status",
  "attempt_count",
  "lease_token",
  "lease_expires_at_ms",
  "delivery_method",
  "first_attempt_at_ms",
  "last_attempt_at_ms",
  "next_retry_at_ms",
  "last_error",
  "expires_at_ms",
  "sequence_number",
  "created_at_ms",
  "updated_at_ms",
];

function toQueueItem(row: QueueItemRow): QueueItem {
  return {
    id: toBigInt(row.id),
    subscriptionId: toBigInt(row.subscription_id),
    messageId: toBigInt(row.message_id),
    status: row.status as QueueStatus,
    attemptCount: toNumber(row.attempt_count),
    leaseToken: toBigInt(row.lease_token),
    leaseExpiresAtMs: toNumberOrNull(row.lease_expires_at_ms),
    deliveryMethod: row.delivery_method as DeliveryMethod | null,
    firstAttemptAtMs: toNumberOrNull(row.first_attempt_at_ms),
    lastAttemptAtMs: toNumberOrNull(row.last_attempt_at_ms),
    nextRetryAtMs: toNumberOrNull(row.next_retry_at_ms),
    lastError: row.last_error,
    expiresAtMs: toNumber(row.expires_at_ms),
    sequenceNumber: toBigInt(row.sequence_number),
    createdAtMs: toNumber(row.created_at_ms),
    updatedAtMs: toNumber(row.updated_at_ms),
  };
}

const LEASE_CLEARED = { lease_owner: null, lease_expires_at_ms: null };

/**
 * The queue's state transitions. Claims select by the claim index in its own order, primary key
 * last, and update by primary key only (the pattern docs/mysql-queue-design.md measured fastest and
 * deadlock-free); SQLite has a single writer, so its claims need no row locks.
 */
export class KnexDeliveryRepository implements DeliveryRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly dialect: Dialect,
  ) {}

  async lockClaimable(query: ClaimQuery): Promise<ClaimCandidate[]> {
    const q = this.claimable(query.subscriptionId, query.ordered, query.nowMs)
      .select(COLUMNS.map((c) => `q.${c}`))
      .where("q.available_at_ms", "<=", query.nowMs)
      .orderBy([
        { column: "q.available_at_ms", order: "asc" },
        { column: "q.id", order: "asc" },
      ])
      .limit(query.limit);
    const records = ((await this.dialect.lockForClaim(q)) as QueueItemRow[]).map(toQueueItem);
    const sizes = await this.messageSizes(records.map((r) => r.messageId));
    return records.map((r) => ({ ...r, sizeBytes: sizes.get(r.messageId) ?? 0 }));
  }

  async nextClaimableAtMs(
    subscriptionId: bigint,
    ordered: boolean,
    nowMs: number,
  ): Promise<number | undefined> {
    const row = (await this.claimable(subscriptionId, ordered, nowMs)
      .select("q.available_at_ms")
      .orderBy([
        { column: "q.available_at_ms", order: "asc" },
        { column: "q.id", order: "asc" },
      ])
      .first()) as { available_at_ms: unknown } | undefined;
    return row ? toNumber(row.available_at_ms) : undefined;
  }

  /**
   * Rows a claim may take now or later (pending or failed, not expired), on the claim index; for
   * ordered subscriptions only the oldest unfinished row of each ordering key.
   */
  private claimable(subscriptionId: bigint, ordered: boolean, nowMs: number): Knex.QueryBuilder {
    const q = this.db("queue_items as q")
      .where("q.subscription_id", idParam(subscriptionId))
      .whereIn("q.status", ["pending", "failed"])
      .where("q.expires_at_ms", ">", nowMs);
    if (ordered) {
      // One outstanding message per ordering key: skip a row while an earlier row of its key is
      // unfinished (pending, leased, or failed and waiting for its retry). Key 0 is "no key".
      q.whereNotExists(
        this.db("queue_items as p")
          .select(this.db.raw("1"))
          .whereRaw("p.subscription_id = q.subscription_id")
          .whereRaw("p.ordering_key_hash = q.ordering_key_hash")
          .whereRaw("p.sequence_number < q.sequence_number")
          .whereIn("p.status", ["pending", "leased", "failed"])
          .whereRaw("q.ordering_key_hash <> 0"),
      );
    }
    return q;
  }

  /**
   * Size of each message, read without touching payloads where the stored size exists (rows
   * published before it was stored are measured with LENGTH). Not locked: messages are immutable.
   */
  private async messageSizes(messageIds: readonly bigint[]): Promise<Map<bigint, number>> {
    const sizes = new Map<bigint, number>();
    for (const chunk of chunked([...new Set(messageIds)], MAX_IDS_PER_STATEMENT)) {
      const rows = (await this.db("messages")
        .select("id", this.db.raw("COALESCE(size_bytes, LENGTH(data) + LENGTH(attributes)) AS size_bytes"))
        .whereIn("id", chunk.map(idParam))) as { id: unknown; size_bytes: unknown }[];
      for (const r of rows) sizes.set(toBigInt(r.id), toNumber(r.size_bytes));
    }
    return sizes;
  }

  async markLeased(ids: readonly bigint[], grant: LeaseGrant, nowMs: number): Promise<void> {
    for (const chunk of chunked(ids, MAX_IDS_PER_STATEMENT)) {
      await this.db("queue_items")
        .whereIn("id", chunk.map(idParam))
        .update(leaseColumns(this.db, grant, nowMs));
    }
  }

  async lockByIds(subscriptionId: bigint, ids: readonly bigint[]): Promise<QueueItem[]> {
    const records: QueueItem[] = [];
    // Deterministic lock order (by id, chunk after chunk) keeps concurrent ack batches from
    // deadlocking each other.
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const chunk of chunked(sorted, MAX_IDS_PER_STATEMENT)) {
      const q = this.db("queue_items")
        .select(COLUMNS)
        .where("subscription_id", idParam(subscriptionId))
        .whereIn("id", chunk.map(idParam))
        .orderBy("id");
      const rows = (await (this.dialect.name === "mysql" ? q.forUpdate() : q)) as QueueItemRow[];
      records.push(...rows.map(toQueueItem));
    }
    return records;
  }

  async markSentIfLeased(leases: readonly LeaseRef[], nowMs: number): Promise<bigint[]> {
    // The lease token survives the ack and completed_at_ms is this call's instant: together they
    // name the rows this statement completed.
    return this.updateIfLeased(
      leases,
      {
        ...LEASE_CLEARED,
        status: "sent",
        attempt_count: this.db.raw("attempt_count + 1"),
        available_at_ms: null,
        next_retry_at_ms: null,
        completed_at_ms: nowMs,
        updated_at_ms: nowMs,
      },
      { status: "sent", completed_at_ms: nowMs, updated_at_ms: nowMs },
    );
  }

  async extendLeasesIfLeased(
    leases: readonly LeaseRef[],
    leaseExpiresAtMs: number,
    nowMs: number,
  ): Promise<bigint[]> {
    return this.updateIfLeased(
      leases,
      { lease_expires_at_ms: leaseExpiresAtMs, available_at_ms: leaseExpiresAtMs, updated_at_ms: nowMs },
      { status: "leased", lease_expires_at_ms: leaseExpiresAtMs, updated_at_ms: nowMs },
    );
  }

  async releaseIfLeased(leases: readonly LeaseRef[], nowMs: number): Promise<bigint[]> {
    return this.updateIfLeased(
      leases,
      {
        ...LEASE_CLEARED,
        // The domain's release: never attempted → pending, else failed; claimable now.
        status: this.db.raw("CASE WHEN attempt_count = 0 THEN 'pending' ELSE 'failed' END"),
        available_at_ms: nowMs,
        updated_at_ms: nowMs,
      },
      { lease_owner: null, available_at_ms: nowMs, updated_at_ms: nowMs },
      ["pending", "failed"],
    );
  }

  /**
   * Applies `values` to the rows still leased under the given tokens, set-based, and returns the ids
   * that won. When some lost, the winners are read back: rows with their token that are now in
   * `after` (the state this statement wrote, at this call's instant) and in one of `afterStatuses`.
   */
  private async updateIfLeased(
    leases: readonly LeaseRef[],
    values: Record<string, unknown>,
    after: Record<string, unknown>,
    afterStatuses?: readonly string[],
  ): Promise<bigint[]> {
    const unique = [...new Map(leases.map((l) => [leaseKey(l), l])).values()];
    const won: bigint[] = [];
    // Three bound values per lease (id list plus the (id, token) pairs).
    for (const chunk of chunked(unique, MAX_IDS_PER_STATEMENT / 3)) {
      const ids = chunk.map((l) => idParam(l.queueId));
      const changed = await this.db("queue_items")
        .whereIn("id", ids)
        .where("status", "leased")
        .whereIn(
          ["id", "lease_token"],
          chunk.map((l) => [idParam(l.queueId), idParam(l.leaseToken)]),
        )
        .update(values);
      if (changed === chunk.length) {
        won.push(...chunk.map((l) => l.queueId));
        continue;
      }
      if (changed === 0) continue;
      const wanted = new Set(chunk.map(leaseKey));
      const q = this.db("queue_items").select("id", "lease_token").whereIn("id", ids).where(after);
      if (afterStatuses) q.whereIn("status", afterStatuses);
      const rows = (await q) as { id: unknown; lease_token: unknown }[];
      for (const r of rows) {
        const ref = { queueId: toBigInt(r.id), leaseToken: toBigInt(r.lease_token) };
        if (wanted.has(leaseKey(ref))) won.push(ref.queueId);
      }
    }
    return won;
  }

  /** The row a failed attempt names, while it is still leased under the attempt's token. */
  private leased(lease: LeaseRef): Knex.QueryBuilder {
    return this.db("queue_items")
      .where("id", idParam(lease.queueId))
      .where("lease_token", idParam(lease.leaseToken))
      .where("status", "leased");
  }

  async markFailedIfLeased(attempts: readonly FailedAttempt[], nowMs: number): Promise<bigint[]> {
    const won: bigint[] = [];
    for (const a of attempts) {
      const changed = await this.leased(a.lease).update({
        ...LEASE_CLEARED,
        status: "failed",
        attempt_count: a.attemptCount,
        last_error: a.lastError,
        next_retry_at_ms: a.nextRetryAtMs,
        available_at_ms: a.nextRetryAtMs,
        first_attempt_at_ms: a.firstAttemptAtMs,
        last_attempt_at_ms: a.lastAttemptAtMs,
        updated_at_ms: nowMs,
      });
      if (changed > 0) won.push(a.lease.queueId);
    }
    return won;
  }

  async markDeadLetteredIfLeased(attempts: readonly FailedAttempt[], nowMs: number): Promise<bigint[]> {
    const won: bigint[] = [];
    for (const a of attempts) {
      const changed = await this.leased(a.lease).update({
        ...LEASE_CLEARED,
        status: "dead_lettered",
        attempt_count: a.attemptCount,
        last_error: a.lastError,
        next_retry_at_ms: null,
        available_at_ms: null,
        first_attempt_at_ms: a.firstAttemptAtMs,
        last_attempt_at_ms: a.lastAttemptAtMs,
        completed_at_ms: nowMs,
        updated_at_ms: nowMs,
      });
      if (changed > 0) won.push(a.lease.queueId);
    }
    return won;
  }

  async markExpiredIfWaiting(items: readonly ExpiredItem[], nowMs: number): Promise<bigint[]> {
    const won: bigint[] = [];
    for (const item of items) {
      const changed = await this.db("queue_items")
        .where("id", idParam(item.id))
        .whereIn("status", ["pending", "failed"])
        .update({
          ...LEASE_CLEARED,
          status: "dead_lettered",
          last_error: item.lastError,
          next_retry_at_ms: null,
          available_at_ms: null,
          completed_at_ms: nowMs,
          updated_at_ms: nowMs,
        });
      if (changed > 0) won.push(item.id);
    }
    return won;
  }

  async lockExpiredLeases(nowMs: number, limit: number): Promise<QueueItem[]> {
    const q = this.db("queue_items")
      .select(COLUMNS)
      .where("status", "leased")
      .where("available_at_ms", "<=", nowMs)
      .orderBy([
        { column: "available_at_ms", order: "asc" },
        { column: "id", order: "asc" },
      ])
      .limit(limit);
    return ((await this.dialect.lockForClaim(q)) as QueueItemRow[]).map(toQueueItem);
  }

  async lockExpiredItems(nowMs: number, limit: number): Promise<QueueItem[]> {
    const q = this.db("queue_items")
      .select(COLUMNS)
      .whereIn("status", ["pending", "failed"])
      .where("expires_at_ms", "<=", nowMs)
      .orderBy([
        { column: "expires_at_ms", order: "asc" },
        { column: "id", order: "asc" },
      ])
      .limit(limit);
    return ((await this.dialect.lockForClaim(q)) as QueueItemRow[]).map(toQueueItem);
  }

  async findLeaseStates(
    ids: readonly bigint[],
  ): Promise<{ id: bigint; status: QueueStatus; leaseToken: bigint }[]> {
    const states: { id: bigint; status: QueueStatus; leaseToken: bigint }[] = [];
    for (const chunk of chunked(ids, MAX_IDS_PER_STATEMENT)) {
      const rows = (await this.db("queue_items")
        .select("id", "status", "lease_token")
        .whereIn("id", chunk.map(idParam))) as { id: unknown; status: string; lease_token: unknown }[];
      for (const r of rows)
        states.push({
          id: toBigInt(r.id),
          status: r.status as QueueStatus,
          leaseToken: toBigInt(r.lease_token),
        });
    }
    return states;
  }
}
