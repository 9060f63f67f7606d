/**
 * Storage port of dead-letter administration (list, stats, replay, resolve, purge). Aggregates
 * are computed by the database, never by loading rows.
 */

import type { DeadLetter } from "../../domain/dead-letter.js";
import type { DlqStats } from "../../domain/dlq-stats.js";
import type { Page, PageRequest } from "./paging.js";

export interface DeadLetterFilter {
  subscriptionId?: bigint;
  resolved?: boolean;
  failureReason?: string;
  movedAfterMs?: number;
  movedBeforeMs?: number;
}

/** A dead letter with the name of its source subscription. */
export interface DeadLetterView extends DeadLetter {
  subscriptionName: string;
}

/** What a replay needs to know about each dead letter. */
export interface ReplayCandidate {
  id: bigint;
  subscriptionId: bigint;
  isResolved: boolean;
  subscriptionLive: boolean;
}

export interface DeadLetterAdminRepository {
  /** Newest first (keyset on id, descending). */
  list(filter: DeadLetterFilter, page: PageRequest): Promise<Page<DeadLetterView>>;
  findById(id: bigint): Promise<DeadLetterView | undefined>;
  stats(filter: DeadLetterFilter, nowMs: number): Promise<DlqStats>;
  /**
   * Ids matching the filter in ascending order after `afterId` and at most `upToId`, at most
   * `limit` (bounded-memory scans).
   */
  idsAfter(filter: DeadLetterFilter, afterId: bigint, upToId: bigint, limit: number): Promise<bigint[]>;
  /** The highest dead-letter id now (0 when none): the upper bound of a scan by filter. */
  lastId(): Promise<bigint>;
  findReplayCandidates(ids: readonly bigint[]): Promise<ReplayCandidate[]>;
  /**
   * findReplayCandidates with the dead letters locked until the transaction ends (MySQL row locks;
   * SQLite transactions run one at a time), so concurrent replays of one dead letter serialise.
   */
  lockReplayCandidates(ids: readonly bigint[]): Promise<ReplayCandidate[]>;
  /**
   * Enqueues each dead letter's message again to its source subscription (a new pending row, fresh
   * attempt count and TTL) and marks the dead letters resolved with note "replayed". With
   * `onlyUnresolved`, dead letters already resolved are left out of both (a concurrent replay won).
   */
  replay(ids: readonly bigint[], resolvedBy: string, nowMs: number, onlyUnresolved: boolean): Promise<number>;
  /** Marks each unresolved id resolved (without redelivery); returns how many changed. */
  resolve(ids: readonly bigint[], resolvedBy: string, note: string, nowMs: number): Promise<number>;
  /** Deletes up to `limit` dead letters moved before `olderThanMs`, with ids up to `upToId`; returns how many. */
  purgeBatch(
    filter: DeadLetterFilter & { olderThanMs: number; includeUnresolved: boolean; upToId: bigint },
    limit: number,
  ): Promise<number>;
}
