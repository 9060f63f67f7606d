import type { Clock } from "../../domain/clock.js";
import type { DeliveryMethod } from "../../domain/notification-log.js";
import { type AttemptFailureKind, decideFailure, fail, type QueueItem } from "../../domain/queue-item.js";
import type { Subscription } from "../../domain/subscription.js";
import type { DeadLetterEntry } from "../ports/dead-letter-repository.js";
import type { FailedAttempt } from "../ports/delivery-repository.js";
import { DeliveryTally } from "../ports/queue-observer.js";
import type { Repositories } from "../ports/store.js";

/** One failed attempt to record. */
export interface AttemptFailure {
  /** The item as read under its current lease. */
  item: QueueItem;
  /** Stored as last_error and in the notification log. */
  error: string;
  /** When it may be retried, or that it must not be (the domain decides). */
  kind: AttemptFailureKind;
  httpStatus?: number | null;
  durationMs?: number | null;
}

/**
 * Records failed attempts of one subscription's items: the domain decides each (retry at a time,
 * or dead-letter with a reason); this persists the decisions fenced by each item's lease, writes the
 * dead-letter records and a `failed` notification-log row for the winners, and returns the outcomes
 * (failed or dead_lettered, by delivery method) for the caller to report once its transaction
 * committed. Runs inside the caller's transaction so the three writes commit together.
 */
export async function recordFailedAttempts(
  repos: Repositories,
  subscription: Subscription,
  failures: readonly AttemptFailure[],
  clock: Clock,
  random: () => number = Math.random,
): Promise<DeliveryTally> {
  const tally = new DeliveryTally();
  if (failures.length === 0) return tally;
  const nowMs = clock.nowMs();
  const defaultMethod: DeliveryMethod = subscription.deliveryType === "push" ? "webhook" : "pull";
  const retries: FailedAttempt[] = [];
  const dead: FailedAttempt[] = [];
  const entries: DeadLetterEntry[] = [];
  const counted: { id: bigint; method: DeliveryMethod; kind: "dead_lettered" | "failed" }[] = [];
  for (const failure of failures) {
    const { item } = failure;
    const decision = decideFailure(item.attemptCount, failure.kind, subscription, nowMs, random);
    const next = fail(item, failure.error, decision, nowMs);
    const attempt: FailedAttempt = {
      lease: { queueId: item.id, leaseToken: item.leaseToken },
      attemptCount: next.attemptCount,
      lastError: failure.error,
      nextRetryAtMs: next.nextRetryAtMs,
      firstAttemptAtMs: next.firstAttemptAtMs,
      lastAttemptAtMs: next.lastAttemptAtMs,
    };
    const deadLettered = decision.outcome === "dead_letter";
    counted.push({
      id: item.id,
      method: item.deliveryMethod ?? defaultMethod,
      kind: deadLettered ? "dead_lettered" : "failed",
    });
    if (decision.outcome === "dead_letter") {
      dead.push(attempt);
      entries.push({
        queueId: item.id,
        failureReason: decision.reason,
        lastError: failure.error,
        lastHttpStatus: failure.httpStatus ?? null,
      });
    } else {
      retries.push(attempt);
    }
  }
  const won = new Set([
    ...(await repos.deliveries.markFailedIfLeased(retries, nowMs)),
    ...(await repos.deliveries.markDeadLetteredIfLeased(dead, nowMs)),
  ]);
  for (const c of counted) if (won.has(c.id)) tally.count(c.method, c.kind);
  await repos.deadLetters.insertFromQueue(
    entries.filter((e) => won.has(e.queueId)),
    nowMs,
  );
  await repos.notificationLogs.insertForQueueItems(
    failures
      .filter((f) => won.has(f.item.id))
      .map((f) => ({
        queueId: f.item.id,
        status: "failed" as const,
        error: f.error,
        httpStatus: f.httpStatus ?? null,
        durationMs: f.durationMs ?? null,
      })),
    { topicCode: subscription.topicCode, defaultMethod },
    nowMs,
  );
  return tally;
}
