import { ACK_DEADLINE_SECONDS } from "./ack-deadline.js";
import { parseAttributeFilter } from "./attribute-filter.js";
import { DomainError } from "./domain-error.js";
import { validateIdentifierFilter } from "./identifier-filter.js";
import { validatePushOidc } from "./push-oidc.js";
import { validateRetrySchedule } from "./retry-schedule.js";
import { requireMaxBytes, requireNonEmpty } from "./text-limits.js";

/** How a subscription's messages reach its subscriber. */
export type DeliveryType = "push" | "pull";

/**
 * The body of a push request: the Pub/Sub JSON envelope, the raw data alone, or the raw data with
 * attributes and message metadata as headers (Pub/Sub `no_wrapper` with `write_metadata`).
 */
export type PushPayload = "wrapped" | "unwrapped" | "unwrapped_metadata";
export const PUSH_PAYLOADS: readonly PushPayload[] = ["wrapped", "unwrapped", "unwrapped_metadata"];

/** Delivery settings of a subscription, with units in the names. */
export interface SubscriptionSettings {
  /** Identifier filter: "" or "*" match all; otherwise exact or a '*' glob. */
  identifierFilter: string;
  /** Overrides the subscriber's webhook URL for push when non-empty. */
  pushEndpoint: string;
  ackDeadlineSeconds: number;
  maxDeliveryAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  /**
   * Delays before each retry, ms (the last repeats up to max_delivery_attempts); when non-empty it
   * replaces exponential backoff. PUSH subscriptions created without a retry policy get
   * DEFAULT_PUSH_RETRY_SCHEDULE_MS; empty for PULL and for subscriptions created before it existed.
   */
  retryScheduleMs: readonly number[];
  messageTtlMs: number;
  enableOrdering: boolean;
  /** Pub/Sub attribute filter ("" = every message); see attribute-filter.ts. */
  attributeFilter: string;
  pushPayload: PushPayload;
  /** Dead letters are also published to this topic (Pub/Sub dead-letter policy); null = DLQ only. */
  deadLetterTopicId: bigint | null;
  /** Acked messages are kept for `messageTtlMs` from their publish, so Seek can replay them. */
  retainAckedMessages: boolean;
  /**
   * Pub/Sub exactly-once delivery: acks and deadline changes are confirmed per ack id (an expired or
   * superseded ack id is reported, never silently ignored). Pull only; see exactly-once.ts.
   */
  enableExactlyOnceDelivery: boolean;
  /** Pushes carry an OIDC token for this service account ("" = none; Pub/Sub `oidcToken`). */
  oidcServiceAccountEmail: string;
  /** The token's audience; "" = the push endpoint's URL. */
  oidcAudience: string;
  /** Most push requests per second to the endpoint, across every instance; 0 = no limit. */
  pushRateLimitPerSecond: number;
}

/**
 * A subscriber's subscription to a topic, with its delivery settings. Deleting is a soft delete: `deletedAtMs` is set and `isActive` cleared,
 * the row and its history stay.
 */
export interface Subscription extends SubscriptionSettings {
  id: bigint;
  name: string;
  subscriberId: bigint;
  topicId: bigint;
  topicCode: string;
  deliveryType: DeliveryType;
  isActive: boolean;
  createdAtMs: number;
  updatedAtMs: number;
  deletedAtMs: number | null;
  /** Where push deliveries go: the push endpoint, else the subscriber's webhook URL. */
  callbackUrl: string;
  /** Set while push delivery is paused (endpoint gone or failing too long, or an admin's pause). */
  pausedAtMs: number | null;
  pauseReason: string | null;
  /** Start of the current run of failed pushes; null after a success. */
  pushFailingSinceMs: number | null;
  lastPushSuccessAtMs: number | null;
  /** Code of `deadLetterTopicId`'s topic, for display. */
  deadLetterTopicCode: string | null;
  /** The Pub/Sub project a compatibility-API client named when it created the subscription ("" otherwise). */
  pubsubProject: string;
  /** Names (lower case) of the static push headers; their values are write-only and never loaded here. */
  pushHeaderNames: readonly string[];
}

/** The subscription with its delivered-message count. */
export interface SubscriptionFull {
  subscription: Subscription;
  messageCount: number;
}

export const SUBSCRIPTION_DEFAULTS: Readonly<
  Omit<SubscriptionSettings, "identifierFilter" | "pushEndpoint" | "deadLetterTopicId">
> = Object.freeze({
  attributeFilter: "",
  pushPayload: "wrapped" as PushPayload,
  ackDeadlineSeconds: ACK_DEADLINE_SECONDS.default,
  maxDeliveryAttempts: 5,
  minBackoffMs: 10_000,
  maxBackoffMs: 600_000,
  retryScheduleMs: Object.freeze([]) as readonly number[],
  oidcServiceAccountEmail: "",
  oidcAudience: "",
  pushRateLimitPerSecond: 0,
  messageTtlMs: 24 * 60 * 60 * 1000,
  enableOrdering: false,
  retainAckedMessages: false,
  enableExactlyOnceDelivery: false,
});

export const SUBSCRIPTION_LIMITS = Object.freeze({
  ackDeadlineSeconds: { min: ACK_DEADLINE_SECONDS.min, max: ACK_DEADLINE_SECONDS.max },
  maxDeliveryAttempts: { min: 1, max: 100 },
  backoffMs: { min: 0, max: 60 * 60 * 1000 },
  messageTtlMs: { min: 10_000, max: 31 * 24 * 60 * 60 * 1000 },
  pushRateLimitPerSecond: { min: 0, max: 10_000 },
});

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Validates a subscription name: 1..255 bytes of letters, digits, '.', '_' and '-', starting alphanumeric. */
export function validateSubscriptionName(field: string, name: string): void {
  requireNonEmpty(field, name);
  requireMaxBytes(field, name, 255);
  if (!NAME_PATTERN.test(name)) {
    throw DomainError.invalid(
      field,
      "must be letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  }
}

function requireIntInRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw DomainError.invalid(field, `must be an integer between ${min} and ${max}`);
  }
}

/** Validates a full settings object; field names are the contract's snake_case request fields. */
export function validateSubscriptionSettings(settings: SubscriptionSettings): void {
  const filterError = validateIdentifierFilter(settings.identifierFilter);
  if (filterError) throw filterError;
  const { ackDeadlineSeconds, maxDeliveryAttempts, backoffMs, messageTtlMs } = SUBSCRIPTION_LIMITS;
  requireIntInRange(
    "ack_deadline_seconds",
    settings.ackDeadlineSeconds,
    ackDeadlineSeconds.min,
    ackDeadlineSeconds.max,
  );
  requireIntInRange(
    "max_delivery_attempts",
    settings.maxDeliveryAttempts,
    maxDeliveryAttempts.min,
    maxDeliveryAttempts.max,
  );
  requireIntInRange("min_backoff", settings.minBackoffMs, backoffMs.min, backoffMs.max);
  requireIntInRange("max_backoff", settings.maxBackoffMs, backoffMs.min, backoffMs.max);
  if (settings.minBackoffMs > settings.maxBackoffMs) {
    throw DomainError.invalid("min_backoff", "must not exceed max_backoff");
  }
  validateRetrySchedule("retry_schedule", settings.retryScheduleMs);
  validatePushOidc("oidc_token", settings.oidcServiceAccountEmail, settings.oidcAudience);
  const { pushRateLimitPerSecond } = SUBSCRIPTION_LIMITS;
  requireIntInRange(
    "push_rate_limit_per_second",
    settings.pushRateLimitPerSecond,
    pushRateLimitPerSecond.min,
    pushRateLimitPerSecond.max,
  );
  requireIntInRange("message_ttl", settings.messageTtlMs, messageTtlMs.min, messageTtlMs.max);
  parseAttributeFilter(settings.attributeFilter, "filter");
  if (!PUSH_PAYLOADS.includes(settings.pushPayload)) {
    throw DomainError.invalid("push_payload", `must be one of ${PUSH_PAYLOADS.join(", ")}`);
  }
}

/**
 * The push body shape from Herald's API flags (Pub/Sub's `no_wrapper` and its `write_metadata`);
 * metadata headers need the unwrapped body.
 */
export function pushPayloadFrom(noWrapper: boolean, writeMetadata: boolean): PushPayload {
  if (!noWrapper) {
    if (writeMetadata) throw DomainError.invalid("write_metadata", "needs no_wrapper");
    return "wrapped";
  }
  return writeMetadata ? "unwrapped_metadata" : "unwrapped";
}

/** Where pushes go: the subscription's own push endpoint wins over the subscriber's webhook. */
export function callbackUrlFor(pushEndpoint: string, subscriberWebhookUrl: string): string {
  return pushEndpoint !== "" ? pushEndpoint : subscriberWebhookUrl;
}
