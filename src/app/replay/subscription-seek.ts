import { parseAttributeFilter } from "../../domain/attribute-filter.js";
import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import { matchesIdentifier } from "../../domain/identifier-filter.js";
import { retainedSinceMs, type SeekTarget, seekOutcome } from "../../domain/seek.js";
import { type Subscription, validateSubscriptionName } from "../../domain/subscription.js";
import type { Store } from "../ports/store.js";

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
    validateSubscriptionName("name", name);
    const subscription = await this.store.repos.subscriptions.findByName(name);
    if (!subscription) throw DomainError.notFound("subscription", name);
    if (subscription.deletedAtMs !== null) {
      throw DomainError.precondition("SUBSCRIPTION_DELETED", `subscription "${name}" is deleted`);
    }
    const result = await this.seekToTime(subscription, timeMs);
    if (result.requeued + result.replayed > 0)
      for (const listener of this.listeners) listener(subscription.id);
    return result;
  }

  async seekToTime(subscription: Subscription, timeMs: number): Promise<SeekResult> {
    const nowMs = this.clock.nowMs();
    const topicRetentionMs = await this.store.repos.replay.topicRetentionMs(subscription.topicId);
    const target: SeekTarget = {
      timeMs,
      retainedSinceMs: retainedSinceMs(nowMs, subscription, topicRetentionMs),
    };
    const result: SeekResult = { acked: 0, requeued: 0, replayed: 0 };
    let afterId = 0n;
    for (;;) {
      const page = await this.store.transaction(async (repos) => {
        const rows = await repos.replay.lockSeekPage(subscription.id, afterId, this.batchSize);
        const toAck: bigint[] = [];
        const toUnack: bigint[] = [];
        const toRestore: bigint[] = [];
        for (const row of rows) {
          const outcome = seekOutcome(row.status, row.publishedAtMs, target);
          if (outcome === "ack") toAck.push(row.id);
          else if (outcome === "unack") toUnack.push(row.id);
          else if (outcome === "restore") toRestore.push(row.id);
        }
        result.acked += await repos.replay.ackBySeek(toAck, nowMs);
        result.requeued += await repos.replay.requeueBySeek(
          toUnack,
          ["leased", "failed"],
          nowMs,
          subscription.messageTtlMs,
        );
        result.requeued += await repos.replay.requeueBySeek(
          toRestore,
          ["sent"],
          nowMs,
          subscription.messageTtlMs,
        );
        return rows;
      });
      const last = page[page.length - 1];
      if (!last || page.length < this.batchSize) break;
      afterId = last.id;
    }
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
  private async replayTopicRetention(
    subscription: Subscription,
    sinceMs: number,
    nowMs: number,
  ): Promise<number> {
    const filter = parseAttributeFilter(subscription.attributeFilter);
    let replayed = 0;
    let after = 0n;
    for (;;) {
      const { candidates, next } = await this.store.repos.replay.listTopicMessagesSince(
        subscription.topicId,
        subscription.id,
        sinceMs,
        after,
        this.batchSize,
      );
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
