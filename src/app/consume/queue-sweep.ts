import type { Clock } from "../../domain/clock.js";
import { expire, isExpired, type QueueItem } from "../../domain/queue-item.js";
import type { Subscription } from "../../domain/subscription.js";
import { DeliveryTally, ignoreQueueEvents, type QueueObserver } from "../ports/queue-observer.js";
import type { Repositories, Store } from "../ports/store.js";
import { recordFailedAttempts } from "./attempt-failures.js";

export interface SweepResult {
  /** Leases that ran out without an ack: recorded as failed attempts (or dead-lettered). */
  expiredLeases: number;
  /** Items past their TTL moved to the dead-letter queue with reason EXPIRED. */
  expiredItems: number;
  /** Subscriptions with rows that changed, so local consumers can be woken. */
  subscriptionIds: Set<bigint>;
}

function bySubscription(rows: readonly QueueItem[]): Map<bigint, QueueItem[]> {
  const groups = new Map<bigint, QueueItem[]>();
  for (const row of rows) groups.set(row.subscriptionId, [...(groups.get(row.subscriptionId) ?? []), row]);
  return groups;
}

/**
 * The queue's background transitions, safe to run on every instance at once (rows are taken with
 * SKIP LOCKED): a lease that expired is a failed attempt ("ack deadline exceeded", retried after
 * the backoff, dead-lettered after the last attempt), and an item past its TTL is dead-lettered
 * with reason EXPIRED — nothing disappears silently.
 */
export class QueueSweep {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly batchSize = 500,
    private readonly observer: QueueObserver = ignoreQueueEvents,
  ) {}

  async run(): Promise<SweepResult> {
    const result: SweepResult = { expiredLeases: 0, expiredItems: 0, subscriptionIds: new Set() };
    // Bounded: at most 20 batches per kind per run, so one run never holds the loop for long.
    for (let i = 0; i < 20; i++) {
      const n = await this.sweepExpiredLeases(result);
      if (n < this.batchSize) break;
    }
    for (let i = 0; i < 20; i++) {
      const n = await this.sweepExpiredItems(result);
      if (n < this.batchSize) break;
    }
    return result;
  }

  private async sweepExpiredLeases(result: SweepResult): Promise<number> {
    const { n, tally } = await this.store.transaction(async (repos) => {
      const tally = new DeliveryTally();
      const rows = await repos.deliveries.lockExpiredLeases(this.clock.nowMs(), this.batchSize);
      for (const [subscriptionId, group] of bySubscription(rows)) {
        const subscription = await this.subscription(repos, subscriptionId);
        const failures = group.map((item) => ({
          item,
          error:
            item.deliveryMethod === "webhook"
              ? "push did not complete before its lease expired"
              : "ack deadline exceeded",
          kind: { kind: "backoff" } as const,
        }));
        tally.add(await recordFailedAttempts(repos, subscription, failures, this.clock));
        result.subscriptionIds.add(subscriptionId);
      }
      result.expiredLeases += rows.length;
      return { n: rows.length, tally };
    });
    tally.reportTo(this.observer);
    return n;
  }

  private async sweepExpiredItems(result: SweepResult): Promise<number> {
    const { n, tally } = await this.store.transaction(async (repos) => {
      const tally = new DeliveryTally();
      const nowMs = this.clock.nowMs();
      const rows = await repos.deliveries.lockExpiredItems(nowMs, this.batchSize);
      for (const [subscriptionId, group] of bySubscription(rows)) {
        const subscription = await this.subscription(repos, subscriptionId);
        const defaultMethod = subscription.deliveryType === "push" ? "webhook" : "pull";
        const won = new Set(
          await repos.deliveries.markExpiredIfWaiting(
            // The domain decides; the lock query found the same rows by the same rule.
            group
              .filter((item) => isExpired(item, nowMs))
              .map((item) => {
                const expired = expire(item, nowMs);
                return { id: expired.id, lastError: expired.lastError ?? "" };
              }),
            nowMs,
          ),
        );
        const expired = group.filter((item) => won.has(item.id));
        for (const item of expired) tally.count(item.deliveryMethod ?? defaultMethod, "expired");
        await repos.deadLetters.insertFromQueue(
          expired.map((item) => ({
            queueId: item.id,
            failureReason: "EXPIRED" as const,
            lastError: item.lastError,
            lastHttpStatus: null,
          })),
          nowMs,
        );
        await repos.notificationLogs.insertForQueueItems(
          expired.map((item) => ({ queueId: item.id, status: "skipped" as const, skippedReason: "expired" })),
          { topicCode: subscription.topicCode, defaultMethod },
          nowMs,
        );
        result.subscriptionIds.add(subscriptionId);
      }
      result.expiredItems += rows.length;
      return { n: rows.length, tally };
    });
    tally.reportTo(this.observer);
    return n;
  }

  private async subscription(repos: Repositories, id: bigint): Promise<Subscription> {
    const subscription = await repos.subscriptions.findById(id);
    if (!subscription) throw new Error(`queue rows name missing subscription ${id}`);
    return subscription;
  }
}
