/** domain → proto for the dead-letter and inspection views. */
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type NotificationLog as NotificationLogPb,
  NotificationLogSchema,
  type QueueItem as QueueItemPb,
  QueueItemSchema,
  type SubscriptionStats as SubscriptionStatsPb,
  SubscriptionStatsSchema,
} from "../../gen/herald/v1/admin_service_pb.js";
import {
  type DeadLetter as DeadLetterPb,
  DeadLetterSchema,
  type DeadLetterStats as DeadLetterStatsPb,
  DeadLetterStatsSchema,
} from "../../gen/herald/v1/dead_letter_service_pb.js";
import type { DeadLetterView } from "../app/ports/dead-letter-admin-repository.js";
import type { QueueItemDetails, SubscriptionStats } from "../app/ports/inspection-repository.js";
import type { DlqStats } from "../domain/dlq-stats.js";
import { DomainError } from "../domain/domain-error.js";
import type { NotificationLog } from "../domain/notification-log.js";

function optionalTime(ms: number | null): Timestamp | undefined {
  return ms === null ? undefined : timestampFromMs(ms);
}

/** An optional proto Timestamp as epoch ms; outside years 0001..9999 it is INVALID_ARGUMENT naming `field`. */
export function timestampToMs(field: string, ts: Timestamp | undefined): number | undefined {
  if (ts === undefined) return undefined;
  // RFC 3339 range of google.protobuf.Timestamp: 0001-01-01 .. 9999-12-31.
  if (
    ts.seconds < -62_135_596_800n ||
    ts.seconds > 253_402_300_799n ||
    ts.nanos < 0 ||
    ts.nanos > 999_999_999
  ) {
    throw DomainError.invalid(field, "must be a timestamp between years 0001 and 9999");
  }
  return timestampDate(ts).getTime();
}

export function deadLetterToPb(d: DeadLetterView): DeadLetterPb {
  return create(DeadLetterSchema, {
    id: d.id,
    subscription: d.subscriptionName,
    subscriptionId: d.subscriptionId,
    messageId: d.messageId.toString(),
    originalQueueId: d.originalQueueId,
    attemptCount: d.attemptCount,
    lastError: d.lastError ?? "",
    failureReason: d.failureReason,
    lastHttpStatus: d.lastHttpStatus ?? 0,
    firstAttemptTime: optionalTime(d.firstAttemptAtMs),
    lastAttemptTime: optionalTime(d.lastAttemptAtMs),
    movedTime: timestampFromMs(d.movedToDlqAtMs),
    messageData: d.messageData,
    callbackUrl: d.callbackUrl ?? "",
    resolved: d.isResolved,
    resolveTime: optionalTime(d.resolvedAtMs),
    resolvedBy: d.resolvedBy ?? "",
    resolutionNote: d.resolutionNote ?? "",
    createTime: timestampFromMs(d.createdAtMs),
  });
}

export function dlqStatsToPb(s: DlqStats): DeadLetterStatsPb {
  return create(DeadLetterStatsSchema, {
    totalItems: BigInt(s.totalItems),
    unresolvedItems: BigInt(s.unresolvedItems),
    resolvedItems: BigInt(s.resolvedItems),
    oldestItemAgeSeconds: BigInt(s.oldestItemAgeSeconds),
    newestItemAgeSeconds: BigInt(s.newestItemAgeSeconds),
    topFailureReason: s.topFailureReason ?? "",
    lastUpdateTime: timestampFromMs(s.lastUpdatedMs),
  });
}

export function queueItemToPb(q: QueueItemDetails): QueueItemPb {
  return create(QueueItemSchema, {
    id: q.queueId,
    messageId: q.messageId.toString(),
    subscriptionId: q.subscriptionId,
    status: q.status,
    attemptCount: q.attemptCount,
    lastAttemptTime: optionalTime(q.lastAttemptAtMs),
    nextRetryTime: optionalTime(q.nextRetryAtMs),
    lastError: q.lastError ?? "",
    sequenceNumber: q.sequenceNumber,
    expireTime: timestampFromMs(q.expiresAtMs),
    createTime: timestampFromMs(q.createdAtMs),
    identifier: q.identifier,
    data: q.data,
    callbackUrl: q.callbackUrl,
    subscriberId: q.subscriberId,
    leaseExpireTime: optionalTime(q.leaseExpiresAtMs),
    deliveryMethod: q.deliveryMethod ?? "",
    deliverTime: optionalTime(q.deliverAtMs),
  });
}

export function subscriptionStatsToPb(s: SubscriptionStats): SubscriptionStatsPb {
  return create(SubscriptionStatsSchema, {
    backlog: BigInt(s.backlog),
    inFlight: BigInt(s.inFlight),
    waitingForRetry: BigInt(s.waitingForRetry),
    oldestUnackedAgeSeconds: BigInt(s.oldestUnackedAgeSeconds),
    sentLastHour: BigInt(s.sentLastHour),
    failedLastHour: BigInt(s.failedLastHour),
    deadLettersUnresolved: BigInt(s.deadLettersUnresolved),
    scheduled: BigInt(s.scheduled),
  });
}

export function notificationLogToPb(l: NotificationLog): NotificationLogPb {
  return create(NotificationLogSchema, {
    id: l.id,
    subscriptionId: l.subscriptionId,
    messageId: l.messageId.toString(),
    queueItemId: l.queueItemId ?? 0n,
    identifier: l.identifier,
    topic: l.topicCode,
    subscriberType: l.subscriberType,
    subscriberId: l.subscriberId,
    deliveryMethod: l.deliveryMethod,
    status: l.status,
    skippedReason: l.skippedReason ?? "",
    httpStatus: l.httpStatus ?? 0,
    durationMs: l.durationMs ?? 0,
    error: l.error ?? "",
    sentTime: optionalTime(l.sentAtMs),
    createTime: timestampFromMs(l.createdAtMs),
  });
}
