import { computeBackoffMs } from "../domain/backoff.js";
import type { Clock } from "../domain/clock.js";
import { QueueItem } from "../domain/queue-item.js";
import type { Subscription } from "../domain/subscription.js";
import type { FailedAttempt, QueueItemRecord } from "./delivery-ports.js";
import type { Repositories } from "./store.js";

export interface FailureOptions {
  /** Stored as last_error and in the delivery log. */
  error: string;
  /** Wait the subscription's backoff before the retry (nack, deadline); false retries at once (closed stream). */
  withBackoff: boolean;
  lastHttpStatus?: number | null;
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
 * subscription's min and max) or, having used its last attempt (shouldMoveToDlq), moves to the
 * dead-letter table with reason MAX_ATTEMPTS. Every attempt gets a `failed` delivery-log row.
 * Returns how many rows were dead-lettered.
 */
export async function recordFailedAttempts(
  repos: Repositories,
  subscription: Subscription,
  records: readonly QueueItemRecord[],
  options: FailureOptions,
  clock: Clock,
  random: () => number = Math.random,
): Promise<number> {
  if (records.length === 0) return 0;
  const nowMs = clock.nowMs();
  const retries: FailedAttempt[] = [];
  const dead: Omit<FailedAttempt, "nextRetryAtMs">[] = [];
  for (const record of records) {
    const item = toQueueItem(record, clock);
    const backoffMs = options.withBackoff
      ? computeBackoffMs({
          attempt: record.attemptCount + 1,
          minBackoffMs: subscription.minBackoffMs,
          maxBackoffMs: subscription.maxBackoffMs,
          random,
        })
      : 0;
    item.markFailed(options.error, backoffMs);
    const attempt = {
      id: record.id,
      attemptCount: item.attemptCount,
      lastError: options.error,
      firstAttemptAtMs: item.firstAttemptAtMs ?? nowMs,
      lastAttemptAtMs: item.lastAttemptAtMs ?? nowMs,
    };
    if (item.shouldMoveToDlq(subscription.maxDeliveryAttempts)) dead.push(attempt);
    else retries.push({ ...attempt, nextRetryAtMs: item.nextRetryAtMs ?? nowMs });
  }
  await repos.deliveries.saveFailures(retries, nowMs);
  await repos.deliveries.markDeadLettered(dead, nowMs);
  await repos.deadLetters.insertFromQueue(
    dead.map((d) => ({
      queueId: d.id,
      failureReason: "MAX_ATTEMPTS" as const,
      lastError: options.error,
      lastHttpStatus: options.lastHttpStatus ?? null,
    })),
    nowMs,
  );
  await repos.notificationLogs.insertForQueueItems(
    records.map((r) => ({ queueId: r.id, status: "failed" as const, error: options.error })),
    {
      topicCode: subscription.topicCode,
      defaultMethod: subscription.deliveryType === "push" ? "webhook" : "pull",
    },
    nowMs,
  );
  return dead.length;
}
