import type { Knex } from "knex";
import type { Page, PageRequest } from "../app/ports/paging.js";
import type { ReplayCandidate } from "../app/ports/replay-repository.js";
import type { NewSnapshot, SnapshotRepository, SnapshotSeekRow } from "../app/ports/snapshot-repository.js";
import { DomainError } from "../domain/domain-error.js";
import type { QueueStatus } from "../domain/queue-item.js";
import type { Snapshot } from "../domain/snapshot.js";
import type { Dialect } from "./dialect.js";
import { pageById } from "./page-query.js";
import { idParam, toBigInt, toNumber, toNumberOrNull } from "./row-values.js";

interface SnapshotRow {
  id: unknown;
  name: string;
  topic_id: unknown;
  topic_code: string | null;
  source_subscription: string;
  after_message_id: unknown;
  labels: string;
  pubsub_project: string;
  expire_at_ms: unknown;
  created_at_ms: unknown;
  updated_at_ms: unknown;
}

function toSnapshot(row: SnapshotRow): Snapshot {
  return {
    id: toBigInt(row.id),
    name: row.name,
    topicId: toBigInt(row.topic_id),
    topicCode: row.topic_code ?? "",
    sourceSubscription: row.source_subscription,
    afterMessageId: toBigInt(row.after_message_id),
    labels: JSON.parse(row.labels) as Record<string, string>,
    pubsubProject: row.pubsub_project,
    expireAtMs: toNumber(row.expire_at_ms),
    createdAtMs: toNumber(row.created_at_ms),
    updatedAtMs: toNumber(row.updated_at_ms),
  };
}

const UNFINISHED: readonly QueueStatus[] = ["pending", "leased", "failed"];

/**
 * SnapshotRepository on knex. Capture copies message ids from queue_items into snapshot_items
 * with INSERT … SELECT over one bounded range of queue ids at a time, so no row travels through
 * Node and each statement writes at most one batch (under MySQL's READ COMMITTED, set per session,
 * the SELECT side is a consistent read that locks no queue row, so acks and claims never wait on
 * a capture); Seek reads a page of queue rows with a LEFT
 * JOIN on snapshot_items' primary key (snapshot_id, message_id).
 */
export class KnexSnapshotRepository implements SnapshotRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly dialect: Dialect,
  ) {}

  private selectSnapshots(): Knex.QueryBuilder {
    return this.db("snapshots as s")
      .leftJoin("topics as t", "t.id", "s.topic_id")
      .select(
        "s.id",
        "s.name",
        "s.topic_id",
        "t.code as topic_code",
        "s.source_subscription",
        "s.after_message_id",
        "s.labels",
        "s.pubsub_project",
        "s.expire_at_ms",
        "s.created_at_ms",
        "s.updated_at_ms",
      )
      .where("s.is_ready", true);
  }

  async insert(snapshot: NewSnapshot): Promise<bigint> {
    try {
      const [id] = await this.db("snapshots").insert({
        name: snapshot.name,
        topic_id: idParam(snapshot.topicId),
        source_subscription: snapshot.sourceSubscription,
        after_message_id: idParam(snapshot.afterMessageId),
        labels: JSON.stringify(snapshot.labels),
        pubsub_project: snapshot.pubsubProject,
        is_ready: false,
        expire_at_ms: snapshot.expireAtMs,
        created_at_ms: snapshot.nowMs,
        updated_at_ms: snapshot.nowMs,
      });
      return toBigInt(id);
    } catch (err) {
      if (this.dialect.isDuplicateKey(err)) throw DomainError.alreadyExists("snapshot", snapshot.name);
      throw err;
    }
  }

  async topicHighWaterMessageId(topicId: bigint): Promise<bigint> {
    // messages_topic_idx (topic_id, id): one index probe.
    const row = (await this.db("messages").max({ id: "id" }).where("topic_id", idParam(topicId)).first()) as
      | { id: unknown }
      | undefined;
    return row?.id === null || row?.id === undefined ? 0n : toBigInt(row.id);
  }

  async nextCaptureBound(
    subscriptionId: bigint,
    afterQueueId: bigint,
    limit: number,
  ): Promise<bigint | null> {
    const rows = (await this.db("queue_items")
      .select("id")
      .where("subscription_id", idParam(subscriptionId))
      .where("id", ">", idParam(afterQueueId))
      .orderBy("id", "asc")
      .limit(limit)) as { id: unknown }[];
    const last = rows[rows.length - 1];
    return last ? toBigInt(last.id) : null;
  }

  async captureUnacked(
    snapshotId: bigint,
    subscriptionId: bigint,
    afterQueueId: bigint,
    upToQueueId: bigint,
    maxMessageId: bigint,
  ): Promise<number | undefined> {
    const statuses = UNFINISHED.map(() => "?").join(", ");
    // A subscription has one queue row per message, but nothing in the schema says so: DISTINCT
    // and NOT EXISTS keep a duplicate from breaking the primary key.
    await this.db.raw(
      `INSERT INTO snapshot_items (snapshot_id, message_id)
       SELECT DISTINCT ?, q.message_id FROM queue_items q
       WHERE q.subscription_id = ? AND q.id > ? AND q.id <= ? AND q.message_id <= ?
         AND q.status IN (${statuses})
         AND NOT EXISTS (SELECT 1 FROM snapshot_items si WHERE si.snapshot_id = ? AND si.message_id = q.message_id)`,
      [
        idParam(snapshotId),
        idParam(subscriptionId),
        idParam(afterQueueId),
        idParam(upToQueueId),
        idParam(maxMessageId),
        ...UNFINISHED,
        idParam(snapshotId),
      ],
    );
    const oldest = (await this.db("queue_items as q")
      .join("messages as m", "m.id", "q.message_id")
      .min({ oldest: "m.created_at_ms" })
      .where("q.subscription_id", idParam(subscriptionId))
      .where("q.id", ">", idParam(afterQueueId))
      .where("q.id", "<=", idParam(upToQueueId))
      .where("q.message_id", "<=", idParam(maxMessageId))
      .whereIn("q.status", UNFINISHED)
      .first()) as { oldest: unknown } | undefined;
    return toNumberOrNull(oldest?.oldest) ?? undefined;
  }

  async markReady(snapshotId: bigint, expireAtMs: number, nowMs: number): Promise<void> {
    await this.db("snapshots")
      .where("id", idParam(snapshotId))
      .update({ is_ready: true, expire_at_ms: expireAtMs, updated_at_ms: nowMs });
  }

  async findByName(name: string): Promise<Snapshot | undefined> {
    const row = (await this.selectSnapshots().where("s.name", name).first()) as SnapshotRow | undefined;
    return row ? toSnapshot(row) : undefined;
  }

  async list(page: PageRequest, filter: { topicId?: bigint; nowMs: number }): Promise<Page<Snapshot>> {
    const query = this.selectSnapshots().where("s.expire_at_ms", ">", filter.nowMs);
    if (filter.topicId !== undefined) query.where("s.topic_id", idParam(filter.topicId));
    return pageById<SnapshotRow, Snapshot>(query, page, toSnapshot, "s.id");
  }

  async update(
    id: bigint,
    change: { labels?: Readonly<Record<string, string>>; expireAtMs?: number },
    nowMs: number,
  ): Promise<void> {
    await this.db("snapshots")
      .where("id", idParam(id))
      .update({
        ...(change.labels !== undefined ? { labels: JSON.stringify(change.labels) } : {}),
        ...(change.expireAtMs !== undefined ? { expire_at_ms: change.expireAtMs } : {}),
        updated_at_ms: nowMs,
      });
  }

  async deleteItems(snapshotId: bigint, limit: number): Promise<number> {
    // Keys first, then delete by key: MySQL cannot DELETE … LIMIT by a subquery on the same table.
    const rows = (await this.db("snapshot_items")
      .select("message_id")
      .where("snapshot_id", idParam(snapshotId))
      .orderBy("message_id", "asc")
      .limit(limit)) as { message_id: unknown }[];
    if (rows.length === 0) return 0;
    return this.db("snapshot_items")
      .where("snapshot_id", idParam(snapshotId))
      .whereIn(
        "message_id",
        rows.map((r) => idParam(toBigInt(r.message_id))),
      )
      .delete();
  }

  async deleteRow(snapshotId: bigint): Promise<void> {
    await this.db("snapshots").where("id", idParam(snapshotId)).delete();
  }

  async listExpiredIds(nowMs: number, limit: number): Promise<bigint[]> {
    const rows = (await this.db("snapshots")
      .select("id")
      .where("expire_at_ms", "<=", nowMs)
      .orderBy("expire_at_ms", "asc")
      .limit(limit)) as { id: unknown }[];
    return rows.map((r) => toBigInt(r.id));
  }

  async lockSeekPage(
    subscriptionId: bigint,
    snapshot: Pick<Snapshot, "id" | "afterMessageId">,
    afterId: bigint,
    limit: number,
  ): Promise<SnapshotSeekRow[]> {
    const q = this.db("queue_items as q")
      .leftJoin("snapshot_items as si", (on) =>
        on
          .on("si.message_id", "=", "q.message_id")
          .andOn("si.snapshot_id", "=", this.db.raw("?", [idParam(snapshot.id)])),
      )
      .select("q.id", "q.status", "q.message_id", "si.message_id as held_message_id")
      .where("q.subscription_id", idParam(subscriptionId))
      .where("q.id", ">", idParam(afterId))
      .orderBy("q.id", "asc")
      .limit(limit);
    // As in Seek to a time: MariaDB has no FOR UPDATE OF; snapshot_items rows are never updated.
    const rows = (await (this.dialect.name === "mysql" ? q.forUpdate() : q)) as {
      id: unknown;
      status: string;
      message_id: unknown;
      held_message_id: unknown;
    }[];
    return rows.map((r) => ({
      id: toBigInt(r.id),
      status: r.status as QueueStatus,
      isHeldBySnapshot:
        (r.held_message_id !== null && r.held_message_id !== undefined) ||
        toBigInt(r.message_id) > snapshot.afterMessageId,
    }));
  }

  async listHeldMessagesMissing(
    snapshotId: bigint,
    subscriptionId: bigint,
    afterMessageId: bigint,
    limit: number,
  ): Promise<{ candidates: ReplayCandidate[]; next: bigint | null }> {
    const held = (await this.db("snapshot_items")
      .select("message_id")
      .where("snapshot_id", idParam(snapshotId))
      .where("message_id", ">", idParam(afterMessageId))
      .orderBy("message_id", "asc")
      .limit(limit)) as { message_id: unknown }[];
    const last = held[held.length - 1];
    const next = held.length < limit || !last ? null : toBigInt(last.message_id);
    if (held.length === 0) return { candidates: [], next };
    const ids = held.map((r) => idParam(toBigInt(r.message_id)));
    const rows = (await this.db("messages as m")
      .select("m.id", "m.identifier", "m.attributes")
      .whereIn("m.id", ids)
      .whereNotExists((q) =>
        q
          .select(this.db.raw("1"))
          .from("queue_items as qi")
          .whereRaw("qi.message_id = m.id")
          .where("qi.subscription_id", idParam(subscriptionId)),
      )
      .orderBy("m.id", "asc")) as { id: unknown; identifier: string; attributes: unknown }[];
    const candidates = rows.map((r) => ({
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
}
