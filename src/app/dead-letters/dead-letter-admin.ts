import type { Clock } from "../../domain/clock.js";
import { isFailureReason } from "../../domain/dead-letter.js";
import type { DlqStats } from "../../domain/dlq-stats.js";
import { DomainError } from "../../domain/domain-error.js";
import { validateSubscriptionName } from "../../domain/subscription.js";
import { requireMaxBytes, requirePrintable } from "../../domain/text-limits.js";
import { encodePageToken, toPageRequest } from "../admin/page-token.js";
import type { DeadLetterFilter, DeadLetterView } from "../ports/dead-letter-admin-repository.js";
import type { Store } from "../ports/store.js";

/** A dead-letter filter as an admin writes it: the subscription by name. */
export interface DeadLetterFilterInput {
  subscription: string;
  resolved?: boolean;
  failureReason: string;
  movedAfterMs?: number;
  movedBeforeMs?: number;
}

const BATCH = 500;
const PURGE_BATCH = 1000;
const MAX_IDS = 1000;

/** Called with the subscriptions that got messages back, so local consumers wake at once. */
export type ReplayListener = (subscriptionIds: ReadonlySet<bigint>) => void;

function validateActor(field: string, value: string): string {
  requirePrintable(field, value);
  requireMaxBytes(field, value, 255);
  return value;
}

function requireIds(ids: readonly bigint[]): void {
  if (ids.length > MAX_IDS) throw DomainError.invalid("ids", `at most ${MAX_IDS} per call`);
  if (ids.some((id) => id <= 0n)) throw DomainError.invalid("ids", "must be positive");
}

/**
 * Dead-letter administration: browse, stats computed by
 * the database, replay to the source subscription only, resolve, purge. Bulk work runs in batches
 * of a few hundred rows, one transaction each, so 100,000 items take bounded memory; a bulk
 * operation by filter covers the dead letters that existed when it started (ids up to the highest
 * then), so what is dead-lettered meanwhile — a replayed message failing again — is not swept in,
 * and it stops between batches when its caller goes away. A replay locks its dead letters and
 * replays only those still unresolved then (or, with force, every one): concurrent replays of one
 * dead letter enqueue it once.
 */
export class DeadLetterAdmin {
  private readonly listeners: ReplayListener[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly batchSize = BATCH,
    private readonly purgeBatchSize = PURGE_BATCH,
  ) {}

  onReplayed(listener: ReplayListener): void {
    this.listeners.push(listener);
  }

  async list(input: DeadLetterFilterInput, pageSize: number, pageToken: string) {
    const page = toPageRequest("dead_letters", pageSize, pageToken);
    const result = await this.store.repos.deadLetterAdmin.list(await this.toFilter(input), page);
    return { items: result.items, nextPageToken: encodePageToken("dead_letters", result.lastId) };
  }

  async get(id: bigint): Promise<DeadLetterView> {
    if (id <= 0n) throw DomainError.invalid("id", "is required");
    const found = await this.store.repos.deadLetterAdmin.findById(id);
    if (!found) throw DomainError.notFound("dead letter", id.toString());
    return found;
  }

  async stats(subscription: string): Promise<DlqStats> {
    const filter = await this.toFilter({ subscription, failureReason: "" });
    return this.store.repos.deadLetterAdmin.stats(filter, this.clock.nowMs());
  }

  /** Replays by ids (all must exist, be unresolved unless forced, and have a live subscription) or by filter. */
  async replay(input: {
    ids: readonly bigint[];
    filter: DeadLetterFilterInput | undefined;
    force: boolean;
    resolvedBy: string;
    /** The caller's signal: a replay by filter stops between batches once it aborts. */
    signal?: AbortSignal;
  }): Promise<number> {
    const resolvedBy = validateActor("resolved_by", input.resolvedBy === "" ? "admin" : input.resolvedBy);
    const filterGiven = input.filter !== undefined && isFilterSet(input.filter);
    if (input.ids.length > 0 && filterGiven)
      throw DomainError.invalid("filter", "give ids or a filter, not both");
    if (input.ids.length === 0 && !filterGiven) {
      throw DomainError.invalid("ids", "name dead letters by ids, or set at least one filter field");
    }
    const touched = new Set<bigint>();
    let replayed = 0;
    if (input.ids.length > 0) {
      requireIds(input.ids);
      replayed = await this.store.transaction(async (repos) => {
        const candidates = await repos.deadLetterAdmin.lockReplayCandidates(input.ids);
        const found = new Set(candidates.map((c) => c.id));
        const missing = input.ids.find((id) => !found.has(id));
        if (missing !== undefined) throw DomainError.notFound("dead letter", missing.toString());
        for (const c of candidates) {
          if (c.isResolved && !input.force) {
            throw DomainError.precondition(
              "ALREADY_RESOLVED",
              `dead letter ${c.id} is already resolved; set force to replay it`,
            );
          }
          if (!c.subscriptionLive) {
            throw DomainError.precondition(
              "SUBSCRIPTION_DELETED",
              `dead letter ${c.id} belongs to a deleted subscription`,
            );
          }
          touched.add(c.subscriptionId);
        }
        return repos.deadLetterAdmin.replay(
          candidates.map((c) => c.id),
          resolvedBy,
          this.clock.nowMs(),
          !input.force,
        );
      });
    } else {
      const filter = await this.toFilter(input.filter as DeadLetterFilterInput);
      if (!input.force) filter.resolved = false;
      const upToId = await this.store.repos.deadLetterAdmin.lastId();
      let cursor = 0n;
      try {
        for (;;) {
          input.signal?.throwIfAborted();
          const ids = await this.store.repos.deadLetterAdmin.idsAfter(filter, cursor, upToId, this.batchSize);
          if (ids.length === 0) break;
          cursor = ids[ids.length - 1] as bigint;
          replayed += await this.store.transaction(async (repos) => {
            const live = (await repos.deadLetterAdmin.lockReplayCandidates(ids)).filter(
              (c) => c.subscriptionLive && (input.force || !c.isResolved),
            );
            for (const c of live) touched.add(c.subscriptionId);
            return repos.deadLetterAdmin.replay(
              live.map((c) => c.id),
              resolvedBy,
              this.clock.nowMs(),
              !input.force,
            );
          });
        }
      } finally {
        // Batches committed before a cancellation still woke their consumers.
        if (touched.size > 0) for (const listener of this.listeners) listener(touched);
      }
      return replayed;
    }
    if (touched.size > 0) for (const listener of this.listeners) listener(touched);
    return replayed;
  }

  /** Marks dead letters resolved; unknown ids are NOT_FOUND, already resolved ones keep their first resolution. */
  async resolve(ids: readonly bigint[], resolvedBy: string, note: string): Promise<number> {
    if (ids.length === 0) throw DomainError.invalid("ids", "at least one id is required");
    requireIds(ids);
    if (resolvedBy === "") throw DomainError.invalid("resolved_by", "is required");
    validateActor("resolved_by", resolvedBy);
    requireMaxBytes("note", note, 4096);
    return this.store.transaction(async (repos) => {
      const found = new Set((await repos.deadLetterAdmin.findReplayCandidates(ids)).map((c) => c.id));
      const missing = ids.find((id) => !found.has(id));
      if (missing !== undefined) throw DomainError.notFound("dead letter", missing.toString());
      return repos.deadLetterAdmin.resolve(ids, resolvedBy, note, this.clock.nowMs());
    });
  }

  /**
   * Deletes in committed batches of 1000 so a large purge never holds long locks; covers the dead
   * letters that existed when it started, and stops between batches when `signal` aborts.
   */
  async purge(input: {
    olderThanMs: number | undefined;
    includeUnresolved: boolean;
    subscription: string;
    signal?: AbortSignal;
  }): Promise<number> {
    const filter = {
      ...(await this.toFilter({ subscription: input.subscription, failureReason: "" })),
      olderThanMs: input.olderThanMs ?? this.clock.nowMs(),
      includeUnresolved: input.includeUnresolved,
      upToId: await this.store.repos.deadLetterAdmin.lastId(),
    };
    let purged = 0;
    for (;;) {
      input.signal?.throwIfAborted();
      const n = await this.store.repos.deadLetterAdmin.purgeBatch(filter, this.purgeBatchSize);
      purged += n;
      if (n === 0) return purged;
    }
  }

  private async toFilter(input: DeadLetterFilterInput): Promise<DeadLetterFilter> {
    const filter: DeadLetterFilter = {};
    if (input.subscription !== "") {
      validateSubscriptionName("filter.subscription", input.subscription);
      const subscription = await this.store.repos.subscriptions.findByName(input.subscription);
      if (!subscription) throw DomainError.notFound("subscription", input.subscription);
      filter.subscriptionId = subscription.id;
    }
    if (input.resolved !== undefined) filter.resolved = input.resolved;
    if (input.failureReason !== "") {
      if (!isFailureReason(input.failureReason)) {
        throw DomainError.invalid(
          "filter.failure_reason",
          "must be MAX_ATTEMPTS, EXPIRED, GONE, SUBSCRIPTION_DELETED or REJECTED",
        );
      }
      filter.failureReason = input.failureReason;
    }
    if (input.movedAfterMs !== undefined) filter.movedAfterMs = input.movedAfterMs;
    if (input.movedBeforeMs !== undefined) filter.movedBeforeMs = input.movedBeforeMs;
    return filter;
  }
}

function isFilterSet(f: DeadLetterFilterInput): boolean {
  return (
    f.subscription !== "" ||
    f.resolved !== undefined ||
    f.failureReason !== "" ||
    f.movedAfterMs !== undefined ||
    f.movedBeforeMs !== undefined
  );
}
