import { parseAttributeFilter } from "../../domain/attribute-filter.js";
import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import { matchesIdentifier } from "../../domain/identifier-filter.js";
import { retainedSinceMs, type SeekOutcome, type SeekTarget, seekOutcome } from "../../domain/seek.js";
import {
  isSnapshotExpired,
  type Snapshot,
  snapshotSeekOutcome,
  validateSnapshotName,
} from "../../domain/snapshot.js";
import { type Subscription, validateSubscriptionName } from "../../domain/subscription.js";
import type { ReplayCandidate } from "../ports/replay-repository.js";
import type { Repositories, Store } from "../ports/store.js";

/** What one Seek changed. */
export interface SeekResult {
  /** Unfinished messages published before the time, now acked. */
  acked: number;
  /** Messages published at or after the time that are deliverable again (leased, retrying or acked before). */
  requeued: number;
  /** Topic-retained messages the subscription had no row for, now queued for it. */
  replayed: number;
}

/** Rows (or messages) one Seek transaction handles. */
const DEFAULT_BATCH_SIZE = 1_000;

/**
 * Seek to a time (Pub/Sub semantics, see domain/seek.ts): messages published before it become
 * acked, later ones unacked — acked ones only while retained — and, when the topic retains
 * messages, those the subscription never had (it was created later, or a filter left nothing
 * out) are queued for it too. Works in batches of `batchSize` rows, each its own short
 * transaction, so a seek over 100,000 messages holds bounded memory and no long locks; a batch
 * that races a concurrent ack or claim sees the row under its lock and decides by its current
 * state. Every changed row gets a new lease token: ack ids handed out before stop working.
 */
export class SubscriptionSeek {
  private readonly listeners: ((subscriptionId: bigint) => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly batchSize = DEFAULT_BATCH_SIZE,
  ) {}

  /** Called after a seek that made messages deliverable, so waiting consumers claim at once. */
  onSeeked(listener: (subscriptionId: bigint) => void): void {
    this.listeners.push(listener);
  }

  /** Seeks the live subscription `name` (NOT_FOUND; FAILED_PRECONDITION when deleted) to `timeMs`. */
  async seekByName(name: string, timeMs: number): Promise<SeekResult> {
    const subscription = await this.liveSubscription(name);
    return this.notified(subscription, await this.seekToTime(subscription, timeMs));
  }

  /**
   * Seeks the live subscription `name` to the snapshot `snapshotName` (NOT_FOUND when it does not
   * exist or has expired; FAILED_PRECONDITION when it is of another topic, as in Pub/Sub).
   */
  async seekToSnapshotByName(name: string, snapshotName: string): Promise<SeekResult> {
    validateSnapshotName("snapshot", snapshotName);
    const subscription = await this.liveSubscription(name);
    const snapshot = await this.store.repos.snapshots.findByName(snapshotName);
    if (!snapshot || isSnapshotExpired(snapshot, this.clock.nowMs())) {
      throw DomainError.notFound("snapshot", snapshotName);
    }
    if (snapshot.topicId !== subscription.topicId) {
      throw DomainError.precondition(
        "SNAPSHOT_TOPIC_MISMATCH",
        `snapshot "${snapshotName}" is of another topic than subscription "${name}"`,
      );
    }
    return this.notified(subscription, await this.seekToSnapshot(subscription, snapshot));
  }

  private async liveSubscription(name: string): Promise<Subscription> {
    validateSubscriptionName("name", name);
    const subscription = await this.store.repos.subscriptions.findByName(name);
    if (!subscription) throw DomainError.notFound("subscription", name);
    if (subscription.deletedAtMs !== null) {
      throw DomainError.precondition("SUBSCRIPTION_DELETED", `subscription "${name}" is deleted`);
    }
    return subscription;
  }

  private notified(subscription: Subscription, result: SeekResult): SeekResult {
    if (result.requeued + result.replayed > 0)
      for (const listener of this.listeners) listener(subscription.id);
    return result;
  }

  /**
   * Restores the acked state `snapshot` captured: the messages it holds become unacked, every
   * other one acked. Same batches, lease-token bumps and requeue rules as Seek to a time; then
   * the held messages the subscription has no row for (its acked row was pruned, or it was
   * created after the snapshot) are queued for it when its filters match.
   */
  async seekToSnapshot(subscription: Subscription, snapshot: Snapshot): Promise<SeekResult> {
    const nowMs = this.clock.nowMs();
    const result: SeekResult = { acked: 0, requeued: 0, replayed: 0 };
    await this.seekPages(
      subscription,
      nowMs,
      result,
      (repos, afterId) => repos.snapshots.lockSeekPage(subscription.id, snapshot, afterId, this.batchSize),
      (row) => snapshotSeekOutcome(row.status, row.isHeldBySnapshot),
    );
    result.replayed += await this.replayMissing(subscription, nowMs, (after) =>
      this.store.repos.snapshots.listHeldMessagesMissing(snapshot.id, subscription.id, after, this.batchSize),
    );
    result.replayed += await this.replayMissing(subscription, nowMs, (after) =>
      this.store.repos.replay.listTopicMessagesSince(
        subscription.topicId,
        subscription.id,
        0,
        after === 0n ? snapshot.afterMessageId : after,
        this.batchSize,
      ),
    );
    return result;
  }

  /**
   * Walks the subscription's queue rows a page at a time, each page locked, decided by `outcomeOf`
   * and written in its own short transaction: a seek over any backlog holds no lock for long and
   * keeps one page in memory.
   */
  private async seekPages<Row extends { id: bigint }>(
    subscription: Subscription,
    nowMs: number,
    result: SeekResult,
    lockPage: (repos: Repositories, afterId: bigint) => Promise<Row[]>,
    outcomeOf: (row: Row) => SeekOutcome,
  ): Promise<void> {
    let afterId = 0n;
    for (;;) {
      const page = await this.store.transaction(async (repos) => {
        const rows = await lockPage(repos, afterId);
        const outcomes = { toAck: [] as bigint[], toUnack: [] as bigint[], toRestore: [] as bigint[] };
        for (const row of rows) {
          const outcome = outcomeOf(row);
          if (outcome === "ack") outcomes.toAck.push(row.id);
          else if (outcome === "unack") outcomes.toUnack.push(row.id);
          else if (outcome === "restore") outcomes.toRestore.push(row.id);
        }
        await this.applyOutcomes(repos, subscription, outcomes, nowMs, result);
        return rows;
      });
      const last = page[page.length - 1];
      if (!last || page.length < this.batchSize) break;
      afterId = last.id;
    }
  }

  private async applyOutcomes(
    repos: Repositories,
    subscription: Subscription,
    outcomes: { toAck: bigint[]; toUnack: bigint[]; toRestore: bigint[] },
    nowMs: number,
    result: SeekResult,
  ): Promise<void> {
    result.acked += await repos.replay.ackBySeek(outcomes.toAck, nowMs);
    result.requeued += await repos.replay.requeueBySeek(
      outcomes.toUnack,
      ["leased", "failed"],
      nowMs,
      subscription.messageTtlMs,
    );
    result.requeued += await repos.replay.requeueBySeek(
      outcomes.toRestore,
      ["sent"],
      nowMs,
      subscription.messageTtlMs,
    );
  }

  async seekToTime(subscription: Subscription, timeMs: number): Promise<SeekResult> {
    const nowMs = this.clock.nowMs();
    const topicRetentionMs = await this.store.repos.replay.topicRetentionMs(subscription.topicId);
    const target: SeekTarget = {
      timeMs,
      retainedSinceMs: retainedSinceMs(nowMs, subscription, topicRetentionMs),
    };
    const result: SeekResult = { acked: 0, requeued: 0, replayed: 0 };
    await this.seekPages(
      subscription,
      nowMs,
      result,
      (repos, afterId) => repos.replay.lockSeekPage(subscription.id, afterId, this.batchSize),
      (row) => seekOutcome(row.status, row.publishedAtMs, target),
    );
    if (topicRetentionMs > 0) {
      result.replayed = await this.replayTopicRetention(
        subscription,
        Math.max(timeMs, nowMs - topicRetentionMs),
        nowMs,
      );
    }
    return result;
  }

  /** Queues the topic's retained messages published since `sinceMs` that the subscription lacks and its filters match. */
  private replayTopicRetention(subscription: Subscription, sinceMs: number, nowMs: number): Promise<number> {
    return this.replayMissing(subscription, nowMs, (after) =>
      this.store.repos.replay.listTopicMessagesSince(
        subscription.topicId,
        subscription.id,
        sinceMs,
        after,
        this.batchSize,
      ),
    );
  }

  /**
   * Pages through messages the subscription lacks (`listPage` from a message-id cursor, 0n first)
   * and queues those its filters match, one short transaction per page.
   */
  private async replayMissing(
    subscription: Subscription,
    nowMs: number,
    listPage: (after: bigint) => Promise<{ candidates: ReplayCandidate[]; next: bigint | null }>,
  ): Promise<number> {
    const filter = parseAttributeFilter(subscription.attributeFilter);
    let replayed = 0;
    let after = 0n;
    for (;;) {
      const { candidates, next } = await listPage(after);
      const matching = candidates
        .filter(
          (c) =>
            matchesIdentifier(subscription.identifierFilter, c.identifier) && filter.matches(c.attributes),
        )
        .map((c) => c.messageId);
      if (matching.length > 0) {
        replayed += await this.store.transaction((repos) =>
          repos.replay.insertReplayRows(subscription.id, matching, nowMs),
        );
      }
      if (next === null) break;
      after = next;
    }
    return replayed;
  }
}
