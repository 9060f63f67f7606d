import { computeBackoffMs } from "../domain/backoff.js";
import type { Clock } from "../domain/clock.js";
import type { FailureReason } from "../domain/dead-letter.js";
import type { DeliveryMethod } from "../domain/notification-log.js";
import { QueueItem } from "../domain/queue-item.js";
import type { Subscription } from "../domain/subscription.js";
import type { DeadLetterEntry, FailedAttempt, QueueItemRecord } from "./delivery-ports.js";
import { DeliveryTally } from "./queue-observer.js";
import type { Repositories } from "./store.js";

/** One failed attempt to record. */
export interface AttemptFailure {
  record: QueueItemRecord;
  /** Stored as last_error and in the delivery log. */
  error: string;
  httpStatus?: number | null;
  durationMs?: number | null;
  /** Overrides the computed backoff (a receiver's Retry-After, already clamped). */
  retryAfterMs?: number | null;
  /** Dead-letter at once with this reason (e.g. GONE), whatever attempts are left. */
  deadLetterNow?: FailureReason;
}

function toQueueItem(record: QueueItemRecord, clock: Clock): QueueItem {
  return new QueueItem(
    {
      id: record.id,
      subscriptionId: record.subscriptionId,
      messageId: record.messageId,
      // A leased row is an attempt in progress; for the seed's model it is still pending or failed.
      status: record.status === "failed" ? "failed" : record.status === "sent" ? "sent" : "pending",
      attemptCount: record.attemptCount,
      lastAttemptAtMs: record.lastAttemptAtMs,
      nextRetryAtMs: record.nextRetryAtMs,
      lastError: record.lastError,
      expiresAtMs: record.expiresAtMs,
      sequenceNumber: record.sequenceNumber,
      operationTimestampMs: record.updatedAtMs,
      completedAtMs: null,
      createdAtMs: record.createdAtMs,
      firstAttemptAtMs: record.firstAttemptAtMs,
    },
    clock,
  );
}

/**
 * Records failed attempts of one subscription's rows (the seed's markFailed), inside the caller's
 * transaction: each row either waits for its retry (exponential backoff with jitter between the
 * subscription's min and max, or the receiver's Retry-After; at once when `withBackoff` is false)
 * or, having used its last attempt (shouldMoveToDlq), moves to the dead-letter table with reason
 * MAX_ATTEMPTS. Every attempt gets a `failed` delivery-log row. Returns the outcomes (failed or
 * dead_lettered, by delivery method) for the caller to report once its transaction committed.
 */
export async function recordFailedAttempts(
  repos: Repositories,
  subscription: Subscription,
  failures: readonly AttemptFailure[],
  withBackoff: boolean,
  clock: Clock,
  random: () => number = Math.random,
): Promise<DeliveryTally> {
  const tally = new DeliveryTally();
  if (failures.length === 0) return tally;
  const nowMs = clock.nowMs();
  const defaultMethod = subscription.deliveryType === "push" ? "webhook" : "pull";
  const retries: FailedAttempt[] = [];
  const dead: (Omit<FailedAttempt, "nextRetryAtMs"> & { entry: DeadLetterEntry })[] = [];
  const counted: { id: bigint; method: DeliveryMethod; kind: "dead_lettered" | "failed" }[] = [];
  for (const failure of failures) {
    const { record } = failure;
    const item = toQueueItem(record, clock);
    const backoffMs = !withBackoff
      ? 0
      : (failure.retryAfterMs ??
        computeBackoffMs({
          attempt: record.attemptCount + 1,
          minBackoffMs: subscription.minBackoffMs,
          maxBackoffMs: subscription.maxBackoffMs,
          random,
        }));
    item.markFailed(failure.error, backoffMs);
    const attempt = {
      id: record.id,
      leaseToken: record.leaseToken,
      attemptCount: item.attemptCount,
      lastError: failure.error,
      firstAttemptAtMs: item.firstAttemptAtMs,
      lastAttemptAtMs: item.lastAttemptAtMs,
    };
    const reason =
      failure.deadLetterNow ??
      (item.shouldMoveToDlq(subscription.maxDeliveryAttempts) ? "MAX_ATTEMPTS" : null);
    counted.push({
      id: record.id,
      method: record.deliveryMethod ?? defaultMethod,
      kind: reason !== null ? "dead_lettered" : "failed",
    });
    if (reason !== null) {
      dead.push({
        ...attempt,
        entry: {
          queueId: record.id,
          failureReason: reason,
          lastError: failure.error,
          lastHttpStatus: failure.httpStatus ?? null,
        },
      });
    } else {
      retries.push({ ...attempt, nextRetryAtMs: item.nextRetryAtMs ?? nowMs });
    }
  }
  // Fenced by each record's lease token: a row whose lease moved on since it was read is left alone.
  const won = new Set([
    ...(await repos.deliveries.saveFailures(retries, nowMs)),
    ...(await repos.deliveries.markDeadLettered(dead, nowMs)),
  ]);
  for (const c of counted) if (won.has(c.id)) tally.count(c.method, c.kind);
  await repos.deadLetters.insertFromQueue(
    dead.filter((d) => won.has(d.id)).map((d) => d.entry),
    nowMs,
  );
  await repos.notificationLogs.insertForQueueItems(
    failures
      .filter((f) => won.has(f.record.id))
      .map((f) => ({
        queueId: f.record.id,
        status: "failed" as const,
        error: f.error,
        httpStatus: f.httpStatus ?? null,
        durationMs: f.durationMs ?? null,
      })),
    {
      topicCode: subscription.topicCode,
      defaultMethod: subscription.deliveryType === "push" ? "webhook" : "pull",
    },
    nowMs,
  );
  return tally;
}
