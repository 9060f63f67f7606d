import type { Clock } from "./clock.js";
import { DomainError } from "./domain-error.js";

/** Kind of party that owns the subscription. */
export type SubscriberType = "client" | "service";

/** How a notification reached (or was meant to reach) its subscriber. */
export type DeliveryMethod = "webhook" | "grpc" | "pull";

/** Outcome of one notification; `skipped` means deliberately not sent, with a reason. */
export type NotificationStatus = "pending" | "sent" | "failed" | "skipped";

/** Every subscriber type, for parsing rows and filters. */
export const SUBSCRIBER_TYPES: readonly SubscriberType[] = Object.freeze(["client", "service"]);

/** Every delivery method, for parsing rows and filters. */
export const DELIVERY_METHODS: readonly DeliveryMethod[] = Object.freeze(["webhook", "grpc", "pull"]);

/** Every notification status, for parsing rows and filters. */
export const NOTIFICATION_STATUSES: readonly NotificationStatus[] = Object.freeze([
  "pending",
  "sent",
  "failed",
  "skipped",
]);

/** True when `value` is one of {@link SUBSCRIBER_TYPES}. */
export function isSubscriberType(value: string): value is SubscriberType {
  return (SUBSCRIBER_TYPES as readonly string[]).includes(value);
}

/** True when `value` is one of {@link DELIVERY_METHODS}. */
export function isDeliveryMethod(value: string): value is DeliveryMethod {
  return (DELIVERY_METHODS as readonly string[]).includes(value);
}

/** True when `value` is one of {@link NOTIFICATION_STATUSES}. */
export function isNotificationStatus(value: string): value is NotificationStatus {
  return (NOTIFICATION_STATUSES as readonly string[]).includes(value);
}

/** One notification attempt, for analytics and debugging (the seed's `NotificationLog`). */
export interface NotificationLog {
  /** Storage id; `0n` until storage assigns one. */
  id: bigint;
  subscriptionId: bigint;
  messageId: bigint;
  /** Queue item the attempt belonged to; `null` when none was created (e.g. skipped at publish). */
  queueItemId: bigint | null;
  identifier: string;
  topicCode: string;
  subscriberType: SubscriberType;
  subscriberId: bigint;
  deliveryMethod: DeliveryMethod;
  status: NotificationStatus;
  /** Set exactly when `status` is `skipped`. */
  skippedReason: string | null;
  /** HTTP status answered by a webhook; `null` otherwise. */
  httpStatus: number | null;
  /** How long the attempt took, in ms; `null` when not measured. */
  durationMs: number | null;
  error: string | null;
  /** Set exactly when `status` is `sent`. */
  sentAtMs: number | null;
  createdAtMs: number;
}

/** Input of {@link newNotificationLog}; optional fields default to `null`. */
export interface NewNotificationLogInput {
  subscriptionId: bigint;
  messageId: bigint;
  queueItemId?: bigint | null;
  identifier: string;
  topicCode: string;
  subscriberType: SubscriberType;
  subscriberId: bigint;
  deliveryMethod: DeliveryMethod;
  status: NotificationStatus;
  /** Required when `status` is `skipped`, and only then. */
  skippedReason?: string | null;
  httpStatus?: number | null;
  durationMs?: number | null;
  error?: string | null;
}

/**
 * Creates a log entry at the clock's now (the seed's `NewNotificationLog`). A `sent` entry gets
 * `sentAtMs` = now; a `skipped` entry needs a non-empty `skippedReason` and no other status may have one.
 * @throws DomainError invalid_argument naming the offending field.
 */
export function newNotificationLog(input: NewNotificationLogInput, clock: Clock): NotificationLog {
  // The union types cover TypeScript callers; these checks cover values parsed from rows or requests.
  if (!isSubscriberType(input.subscriberType)) {
    throw DomainError.invalid("subscriber_type", `must be one of ${SUBSCRIBER_TYPES.join(", ")}`);
  }
  if (!isDeliveryMethod(input.deliveryMethod)) {
    throw DomainError.invalid("delivery_method", `must be one of ${DELIVERY_METHODS.join(", ")}`);
  }
  if (!isNotificationStatus(input.status)) {
    throw DomainError.invalid("status", `must be one of ${NOTIFICATION_STATUSES.join(", ")}`);
  }
  const skippedReason = input.skippedReason ?? null;
  if (input.status === "skipped" && (skippedReason === null || skippedReason.trim() === "")) {
    throw DomainError.invalid("skipped_reason", "is required when the status is skipped");
  }
  if (input.status !== "skipped" && skippedReason !== null) {
    throw DomainError.invalid("skipped_reason", "is only allowed when the status is skipped");
  }
  const httpStatus = input.httpStatus ?? null;
  if (httpStatus !== null && !(Number.isInteger(httpStatus) && httpStatus >= 100 && httpStatus <= 599)) {
    throw DomainError.invalid("http_status", "must be an integer between 100 and 599");
  }
  const durationMs = input.durationMs ?? null;
  if (durationMs !== null && !(Number.isFinite(durationMs) && durationMs >= 0)) {
    throw DomainError.invalid("duration_ms", "must be a non-negative number");
  }
  const nowMs = clock.nowMs();
  return {
    id: 0n,
    subscriptionId: input.subscriptionId,
    messageId: input.messageId,
    queueItemId: input.queueItemId ?? null,
    identifier: input.identifier,
    topicCode: input.topicCode,
    subscriberType: input.subscriberType,
    subscriberId: input.subscriberId,
    deliveryMethod: input.deliveryMethod,
    status: input.status,
    skippedReason,
    httpStatus,
    durationMs,
    error: input.error ?? null,
    sentAtMs: input.status === "sent" ? nowMs : null,
    createdAtMs: nowMs,
  };
}
