import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import {
  isSnapshotExpired,
  SNAPSHOT_MAX_LIFETIME_MS,
  type Snapshot,
  snapshotExpireAtMs,
  validateSnapshotExpireAt,
  validateSnapshotLabels,
  validateSnapshotName,
} from "../../domain/snapshot.js";
import { validateSubscriptionName } from "../../domain/subscription.js";
import { encodePageToken, toPageRequest } from "../admin/page-token.js";
import { topicFilterId } from "../admin/topic-filter.js";
import type { Store } from "../ports/store.js";
import { purgeSnapshot } from "./snapshot-purge.js";

/** Pub/Sub refuses a snapshot that would expire within an hour of its creation. */
const MIN_SNAPSHOT_LIFETIME_MS = 60 * 60 * 1000;

export interface CreateSnapshotInput {
  name: string;
  subscription: string;
  labels: Readonly<Record<string, string>>;
  /** The Pub/Sub project it was created under; "" from Herald's own API. */
  pubsubProject: string;
}

export interface UpdateSnapshotInput {
  labels?: Readonly<Record<string, string>>;
  expireAtMs?: number;
}

export interface SnapshotAdminOptions {
  /** Queue rows (and held-message rows) one capture or purge transaction handles. Default 1000. */
  batchSize?: number;
  /** Item batches a Delete spends before leaving the rest to the retention pruner. Default 100. */
  maxDeleteBatches?: number;
}

/**
 * Snapshots of subscriptions (Pub/Sub semantics, see domain/snapshot.ts). Create captures the
 * source subscription's unacked messages in batches of `batchSize` queue rows — each batch one
 * INSERT … SELECT in its own short transaction — under a snapshot row that stays hidden until the
 * last batch is in, so a backlog of any size is captured in bounded memory and lock time. An
 * expired snapshot answers NOT_FOUND at once and is deleted by the retention pruner.
 */
export class SnapshotAdmin {
  private readonly batchSize: number;
  private readonly maxDeleteBatches: number;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    options: SnapshotAdminOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.maxDeleteBatches = options.maxDeleteBatches ?? 100;
  }

  async create(input: CreateSnapshotInput): Promise<Snapshot> {
    validateSnapshotName("name", input.name);
    validateSubscriptionName("subscription", input.subscription);
    validateSnapshotLabels("labels", input.labels);
    const subscription = await this.store.repos.subscriptions.findByName(input.subscription);
    if (!subscription || subscription.deletedAtMs !== null) {
      throw DomainError.notFound("subscription", input.subscription);
    }
    const existing = await this.store.repos.snapshots.findByName(input.name);
    if (existing && !isSnapshotExpired(existing, this.clock.nowMs())) {
      throw DomainError.alreadyExists("snapshot", input.name);
    }
    // An expired snapshot is gone to clients; its name is free again once its rows are. A huge one
    // may take more than this call's share of batches: the caller retries (or the pruner finishes).
    if (existing && !(await purgeSnapshot(this.store, existing.id, this.batchSize, this.maxDeleteBatches))) {
      throw DomainError.precondition(
        "SNAPSHOT_BEING_DELETED",
        `an expired snapshot named "${input.name}" is still being deleted; try again shortly`,
      );
    }

    const nowMs = this.clock.nowMs();
    // Read before the capture: every message published after this request completes has a larger
    // id, so the snapshot holds it. (A publish racing the request may or may not be held, as in
    // Pub/Sub, which guarantees only messages published after CreateSnapshot returns.)
    const afterMessageId = await this.store.repos.snapshots.topicHighWaterMessageId(subscription.topicId);
    const snapshotId = await this.store.repos.snapshots.insert({
      name: input.name,
      topicId: subscription.topicId,
      sourceSubscription: subscription.name,
      afterMessageId,
      labels: input.labels,
      pubsubProject: input.pubsubProject,
      expireAtMs: nowMs + SNAPSHOT_MAX_LIFETIME_MS,
      nowMs,
    });
    try {
      let oldestMs: number | undefined;
      let afterQueueId = 0n;
      for (;;) {
        const upTo = await this.store.repos.snapshots.nextCaptureBound(
          subscription.id,
          afterQueueId,
          this.batchSize,
        );
        if (upTo === null) break;
        const oldest = await this.store.transaction((repos) =>
          repos.snapshots.captureUnacked(snapshotId, subscription.id, afterQueueId, upTo, afterMessageId),
        );
        if (oldest !== undefined) oldestMs = oldestMs === undefined ? oldest : Math.min(oldestMs, oldest);
        afterQueueId = upTo;
      }
      const topicRetentionMs = await this.store.repos.replay.topicRetentionMs(subscription.topicId);
      const expireAtMs = snapshotExpireAtMs(nowMs, oldestMs, {
        subscriptionMs: subscription.messageTtlMs,
        topicMs: topicRetentionMs,
      });
      // Pub/Sub's rule: a snapshot that would live less than an hour is refused, not created.
      if (expireAtMs - nowMs < MIN_SNAPSHOT_LIFETIME_MS) {
        throw DomainError.precondition(
          "SNAPSHOT_BACKLOG_TOO_OLD",
          `the oldest unacked message of subscription "${subscription.name}" leaves retention within an hour; the snapshot would expire too soon`,
        );
      }
      await this.store.repos.snapshots.markReady(snapshotId, expireAtMs, this.clock.nowMs());
    } catch (err) {
      // Best effort: a hidden, half-built snapshot left behind is pruned at its provisional expiry.
      await purgeSnapshot(this.store, snapshotId, this.batchSize, this.maxDeleteBatches).catch(() => false);
      throw err;
    }
    return this.get(input.name);
  }

  /** The live snapshot `name`: NOT_FOUND when there is none or it has expired. */
  async get(name: string): Promise<Snapshot> {
    validateSnapshotName("name", name);
    const snapshot = await this.store.repos.snapshots.findByName(name);
    if (!snapshot || isSnapshotExpired(snapshot, this.clock.nowMs()))
      throw DomainError.notFound("snapshot", name);
    return snapshot;
  }

  /** Live snapshots by creation order, optionally of one topic (NOT_FOUND when it does not exist). */
  async list(input: {
    pageSize: number;
    pageToken: string;
    topicCode?: string;
  }): Promise<{ items: Snapshot[]; nextPageToken: string }> {
    const page = toPageRequest("snapshots", input.pageSize, input.pageToken);
    const topicId = await topicFilterId(this.store.repos, input.topicCode);
    const result = await this.store.repos.snapshots.list(page, {
      ...(topicId !== undefined ? { topicId } : {}),
      nowMs: this.clock.nowMs(),
    });
    return { items: result.items, nextPageToken: encodePageToken("snapshots", result.lastId) };
  }

  async update(name: string, change: UpdateSnapshotInput): Promise<Snapshot> {
    const snapshot = await this.get(name);
    if (change.labels === undefined && change.expireAtMs === undefined) {
      throw DomainError.invalid("update_mask", "names no field to update");
    }
    if (change.labels !== undefined) validateSnapshotLabels("labels", change.labels);
    if (change.expireAtMs !== undefined) {
      validateSnapshotExpireAt("expire_time", change.expireAtMs, snapshot, this.clock.nowMs());
    }
    await this.store.repos.snapshots.update(snapshot.id, change, this.clock.nowMs());
    return this.get(name);
  }

  /**
   * Deletes the live snapshot `name` (NOT_FOUND otherwise). It expires at once, so it is gone to
   * every caller; its held-message rows go in batches, the rest by the retention pruner.
   */
  async delete(name: string): Promise<void> {
    const snapshot = await this.get(name);
    const nowMs = this.clock.nowMs();
    await this.store.repos.snapshots.update(snapshot.id, { expireAtMs: nowMs }, nowMs);
    // Deleted for every caller from here on: a failure while purging leaves rows to the pruner,
    // not an error to this caller.
    await purgeSnapshot(this.store, snapshot.id, this.batchSize, this.maxDeleteBatches).catch(() => false);
  }
}
