/** Kind of party that owns the subscription. */
export type SubscriberType = "client" | "service";

/** How a notification reached (or was meant to reach) its subscriber. */
export type DeliveryMethod = "webhook" | "grpc" | "pull";

/** Outcome of one notification; `skipped` means deliberately not sent, with a reason. */
export type NotificationStatus = "pending" | "sent" | "failed" | "skipped";

/** Every delivery method, for parsing rows and filters. */
export const DELIVERY_METHODS: readonly DeliveryMethod[] = Object.freeze(["webhook", "grpc", "pull"]);

/** Every notification status, for parsing rows and filters. */
export const NOTIFICATION_STATUSES: readonly NotificationStatus[] = Object.freeze([
  "pending",
  "sent",
  "failed",
  "skipped",
]);

/** True when `value` is one of {@link DELIVERY_METHODS}. */
export function isDeliveryMethod(value: string): value is DeliveryMethod {
  return (DELIVERY_METHODS as readonly string[]).includes(value);
}

/** True when `value` is one of {@link NOTIFICATION_STATUSES}. */
export function isNotificationStatus(value: string): value is NotificationStatus {
  return (NOTIFICATION_STATUSES as readonly string[]).includes(value);
}

/** One row of the notification log: one delivery attempt (or a skip), for analytics and debugging. */
export interface NotificationLog {
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
