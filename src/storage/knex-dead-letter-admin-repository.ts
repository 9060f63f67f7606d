import type { Knex } from "knex";
import type {
  DeadLetterAdminRepository,
  DeadLetterFilter,
  DeadLetterView,
  ReplayCandidate,
} from "../app/ports/dead-letter-admin-repository.js";
import type { Page, PageRequest } from "../app/ports/paging.js";
import type { FailureReason } from "../domain/dead-letter.js";
import type { DlqStats } from "../domain/dlq-stats.js";
import type { Dialect } from "./dialect.js";
import { type DeadLetterRow, toDeadLetterState } from "./knex-dead-letter-repository.js";
import { pageById } from "./page-query.js";
import { idParam, toBigInt, toBoolean, toNumber, toNumberOrNull } from "./row-values.js";

function applyFilter(query: Knex.QueryBuilder, filter: DeadLetterFilter, prefix = "d."): Knex.QueryBuilder {
  if (filter.subscriptionId !== undefined)
    query.where(`${prefix}subscription_id`, idParam(filter.subscriptionId));
  if (filter.resolved !== undefined) query.where(`${prefix}is_resolved`, filter.resolved);
  if (filter.failureReason !== undefined) query.where(`${prefix}failure_reason`, filter.failureReason);
  if (filter.movedAfterMs !== undefined) query.where(`${prefix}moved_at_ms`, ">=", filter.movedAfterMs);
  if (filter.movedBeforeMs !== undefined) query.where(`${prefix}moved_at_ms`, "<", filter.movedBeforeMs);
  return query;
}

type ViewRow = DeadLetterRow & { subscription_name: string };

function toView(row: ViewRow): DeadLetterView {
  return { ...toDeadLetterState(row), subscriptionName: row.subscription_name };
}

export class KnexDeadLetterAdminRepository implements DeadLetterAdminRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly dialect: Dialect,
  ) {}

  private selectViews(): Knex.QueryBuilder {
    return this.db("dead_letters as d")
      .join("subscriptions as s", "s.id", "d.subscription_id")
      .select("d.*", "s.name as subscription_name");
  }

  list(filter: DeadLetterFilter, page: PageRequest): Promise<Page<DeadLetterView>> {
    return pageById(applyFilter(this.selectViews(), filter), page, toView, "d.id", "desc");
  }

  async findById(id: bigint): Promise<DeadLetterView | undefined> {
    const row = (await this.selectViews().where("d.id", idParam(id)).first()) as ViewRow | undefined;
    return row ? toView(row) : undefined;
  }

  async stats(filter: DeadLetterFilter, nowMs: number): Promise<DlqStats> {
    const totals = (await applyFilter(this.db("dead_letters as d"), filter)
      .select(
        this.db.raw("COUNT(*) AS total"),
        this.db.raw("SUM(CASE WHEN d.is_resolved = ? THEN 0 ELSE 1 END) AS unresolved", [true]),
        this.db.raw("MIN(d.moved_at_ms) AS oldest"),
        this.db.raw("MAX(d.moved_at_ms) AS newest"),
      )
      .first()) as { total: unknown; unresolved: unknown; oldest: unknown; newest: unknown };
    const top = (await applyFilter(this.db("dead_letters as d"), filter)
      .select("d.failure_reason")
      .count({ n: "*" })
      .groupBy("d.failure_reason")
      .orderBy([
        { column: "n", order: "desc" },
        { column: "d.failure_reason", order: "asc" },
      ])
      .first()) as { failure_reason: string } | undefined;
    const total = toNumber(totals.total);
    const unresolved = totals.unresolved === null ? 0 : toNumber(totals.unresolved);
    const oldest = toNumberOrNull(totals.oldest);
    const newest = toNumberOrNull(totals.newest);
    const ageSeconds = (at: number | null) =>
      at === null ? 0 : Math.max(0, Math.floor((nowMs - at) / 1000));
    return {
      totalItems: total,
      unresolvedItems: unresolved,
      resolvedItems: total - unresolved,
      oldestItemAgeSeconds: ageSeconds(oldest),
      newestItemAgeSeconds: ageSeconds(newest),
      topFailureReason: (top?.failure_reason as FailureReason | undefined) ?? null,
      lastUpdatedMs: nowMs,
    };
  }

  async idsAfter(
    filter: DeadLetterFilter,
    afterId: bigint,
    upToId: bigint,
    limit: number,
  ): Promise<bigint[]> {
    const rows = (await applyFilter(this.db("dead_letters as d"), filter)
      .select("d.id")
      .where("d.id", ">", idParam(afterId))
      .where("d.id", "<=", idParam(upToId))
      .orderBy("d.id", "asc")
      .limit(limit)) as { id: unknown }[];
    return rows.map((r) => toBigInt(r.id));
  }

  async lastId(): Promise<bigint> {
    const row = (await this.db("dead_letters").max({ id: "id" }).first()) as { id: unknown } | undefined;
    return row?.id === null || row?.id === undefined ? 0n : toBigInt(row.id);
  }

  async lockReplayCandidates(ids: readonly bigint[]): Promise<ReplayCandidate[]> {
    if (ids.length === 0) return [];
    if (this.dialect.name === "mysql") {
      // Only the dead letters are locked (a locking join would lock their subscriptions too), in
      // id order so concurrent replays cannot deadlock; READ COMMITTED then reads them as committed.
      await this.db("dead_letters").select("id").whereIn("id", ids.map(idParam)).orderBy("id").forUpdate();
    }
    return this.findReplayCandidates(ids);
  }

  async findReplayCandidates(ids: readonly bigint[]): Promise<ReplayCandidate[]> {
    if (ids.length === 0) return [];
    const rows = (await this.db("dead_letters as d")
      .join("subscriptions as s", "s.id", "d.subscription_id")
      .select("d.id", "d.subscription_id", "d.is_resolved", "s.deleted_at_ms")
      .whereIn("d.id", ids.map(idParam))) as {
      id: unknown;
      subscription_id: unknown;
      is_resolved: unknown;
      deleted_at_ms: unknown;
    }[];
    return rows.map((r) => ({
      id: toBigInt(r.id),
      subscriptionId: toBigInt(r.subscription_id),
      isResolved: toBoolean(r.is_resolved),
      subscriptionLive: r.deleted_at_ms === null,
    }));
  }

  async replay(
    ids: readonly bigint[],
    resolvedBy: string,
    nowMs: number,
    onlyUnresolved: boolean,
  ): Promise<number> {
    if (ids.length === 0) return 0;
    const params = ids.map(idParam);
    const placeholders = params.map(() => "?").join(", ");
    await this.db.raw(
      `INSERT INTO queue_items
         (subscription_id, message_id, status, attempt_count, available_at_ms, lease_token,
          expires_at_ms, sequence_number, ordering_key_hash, created_at_ms, updated_at_ms)
       SELECT d.subscription_id, d.message_id, 'pending', 0, ?, 0, ? + s.message_ttl_ms, m.id,
              m.ordering_key_hash, ?, ?
       FROM dead_letters d
       JOIN subscriptions s ON s.id = d.subscription_id
       JOIN messages m ON m.id = d.message_id
       WHERE d.id IN (${placeholders})${onlyUnresolved ? " AND d.is_resolved = 0" : ""}
       ORDER BY d.id`,
      [nowMs, nowMs, nowMs, nowMs, ...params],
    );
    const update = this.db("dead_letters").whereIn("id", params);
    if (onlyUnresolved) update.where("is_resolved", false);
    return update.update({
      is_resolved: true,
      resolved_at_ms: nowMs,
      resolved_by: resolvedBy,
      resolution_note: "replayed",
    });
  }

  resolve(ids: readonly bigint[], resolvedBy: string, note: string, nowMs: number): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.db("dead_letters")
      .whereIn("id", ids.map(idParam))
      .where("is_resolved", false)
      .update({ is_resolved: true, resolved_at_ms: nowMs, resolved_by: resolvedBy, resolution_note: note });
  }

  async purgeBatch(
    filter: DeadLetterFilter & { olderThanMs: number; includeUnresolved: boolean; upToId: bigint },
    limit: number,
  ): Promise<number> {
    const query = applyFilter(this.db("dead_letters as d"), filter)
      .select("d.id")
      .where("d.id", "<=", idParam(filter.upToId))
      .where("d.moved_at_ms", "<", filter.olderThanMs)
      .orderBy("d.id")
      .limit(limit);
    if (!filter.includeUnresolved) query.where("d.is_resolved", true);
    const ids = ((await query) as { id: unknown }[]).map((r) => idParam(toBigInt(r.id)));
    if (ids.length === 0) return 0;
    // A purged dead letter is not forwarded any more (its outbox row would otherwise stay forever).
    await this.db("dead_letter_forwards").whereIn("dead_letter_id", ids).delete();
    return this.db("dead_letters").whereIn("id", ids).delete();
  }
}
