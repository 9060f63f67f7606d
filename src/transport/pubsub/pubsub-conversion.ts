import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  DeadLetterPolicySchema,
  type PushConfig,
  PushConfig_NoWrapperSchema,
  PushConfig_OidcTokenSchema,
  PushConfig_PubsubWrapperSchema,
  PushConfigSchema,
  type ReceivedMessage,
  ReceivedMessageSchema,
  RetryPolicySchema,
  Subscription_State,
  type Subscription as SubscriptionPb,
  SubscriptionSchema,
  type Topic as TopicPb,
  TopicSchema,
} from "../../../gen/google/pubsub/v1/pubsub_pb.js";
import type { CreateSubscriptionInput } from "../../app/admin/subscription-admin.js";
import type { Delivery } from "../../app/consume/delivery-service.js";
import { DomainError } from "../../domain/domain-error.js";
import type { DeliveryType, PushPayload, Subscription } from "../../domain/subscription.js";
import { type Topic, validateTopicRetention } from "../../domain/topic.js";
import { durationToMs, msToDuration } from "../proto-conversion.js";
import { parseTopicName, subscriptionName, topicName } from "./resource-names.js";

/** Pub/Sub's defaults where Herald's differ (see docs/pubsub-compatibility.md). */
export const PUBSUB_DEFAULTS = Object.freeze({
  ackDeadlineSeconds: 10,
  messageRetentionMs: 7 * 24 * 60 * 60 * 1000,
  /** Without a dead-letter policy Pub/Sub redelivers without limit; Herald stops at its maximum. */
  maxDeliveryAttemptsWithoutPolicy: 100,
  deadLetterMaxDeliveryAttempts: 5,
  deadLetterAttempts: { min: 5, max: 100 },
  /** Without a retry policy Pub/Sub redelivers a nacked message at once. */
  backoffWithoutPolicyMs: 0,
  retryPolicy: { minMs: 10_000, maxMs: 600_000, limitMs: 600_000 },
});

export const unimplemented = (what: string) =>
  new DomainError("unimplemented", "UNIMPLEMENTED", `Herald does not support ${what}`);

export function topicToPubsub(project: string, topic: Topic): TopicPb {
  return create(TopicSchema, {
    name: topicName(project, topic.code),
    ...(topic.messageRetentionMs ? { messageRetentionDuration: msToDuration(topic.messageRetentionMs) } : {}),
  });
}

/** A Pub/Sub topic's message_retention_duration (validated: 10 minutes..31 days), ms; undefined when unset. */
export function topicRetentionFromPubsub(
  field: string,
  duration: Parameters<typeof durationToMs>[1],
): number | undefined {
  const ms = durationToMs(field, duration);
  if (ms !== undefined) validateTopicRetention(field, ms);
  return ms;
}

export function subscriptionToPubsub(project: string, s: Subscription): SubscriptionPb {
  return create(SubscriptionSchema, {
    name: subscriptionName(project, s.name),
    topic: topicName(project, s.topicCode),
    ...(s.deliveryType === "push" ? { pushConfig: pushConfigOf(s) } : {}),
    ackDeadlineSeconds: s.ackDeadlineSeconds,
    messageRetentionDuration: msToDuration(s.messageTtlMs),
    retainAckedMessages: s.retainAckedMessages,
    enableExactlyOnceDelivery: s.enableExactlyOnceDelivery,
    enableMessageOrdering: s.enableOrdering,
    filter: s.attributeFilter,
    ...(s.deadLetterTopicCode !== null
      ? {
          deadLetterPolicy: create(DeadLetterPolicySchema, {
            deadLetterTopic: topicName(project, s.deadLetterTopicCode),
            maxDeliveryAttempts: s.maxDeliveryAttempts,
          }),
        }
      : {}),
    ...(s.maxBackoffMs > 0 && s.retryScheduleMs.length === 0
      ? {
          retryPolicy: create(RetryPolicySchema, {
            minimumBackoff: msToDuration(s.minBackoffMs),
            maximumBackoff: msToDuration(s.maxBackoffMs),
          }),
        }
      : {}),
    state: s.isActive ? Subscription_State.ACTIVE : Subscription_State.STATE_UNSPECIFIED,
  });
}

function pushConfigOf(s: Subscription): PushConfig {
  const payload = s.pushPayload;
  return create(PushConfigSchema, {
    pushEndpoint: s.callbackUrl,
    ...(s.oidcServiceAccountEmail !== ""
      ? {
          authenticationMethod: {
            case: "oidcToken" as const,
            value: create(PushConfig_OidcTokenSchema, {
              serviceAccountEmail: s.oidcServiceAccountEmail,
              audience: s.oidcAudience,
            }),
          },
        }
      : {}),
    wrapper:
      payload === "wrapped"
        ? { case: "pubsubWrapper", value: create(PushConfig_PubsubWrapperSchema, {}) }
        : {
            case: "noWrapper",
            value: create(PushConfig_NoWrapperSchema, { writeMetadata: payload === "unwrapped_metadata" }),
          },
  });
}

/** Delivery type, endpoint and body shape of a push config; an empty config means pull. */
export function pushSettingsFromPubsub(config: PushConfig | undefined): {
  deliveryType: DeliveryType;
  pushEndpoint: string;
  pushPayload: PushPayload;
  oidcServiceAccountEmail: string;
  oidcAudience: string;
} {
  if (config === undefined || config.pushEndpoint === "") {
    return {
      deliveryType: "pull",
      pushEndpoint: "",
      pushPayload: "wrapped",
      oidcServiceAccountEmail: "",
      oidcAudience: "",
    };
  }
  const wrapper = config.wrapper;
  const pushPayload: PushPayload =
    wrapper.case === "noWrapper"
      ? wrapper.value.writeMetadata
        ? "unwrapped_metadata"
        : "unwrapped"
      : "wrapped";
  const oidc =
    config.authenticationMethod.case === "oidcToken" ? config.authenticationMethod.value : undefined;
  if (oidc !== undefined && oidc.serviceAccountEmail === "") {
    throw DomainError.invalid("push_config.oidc_token.service_account_email", "is required");
  }
  return {
    deliveryType: "push",
    pushEndpoint: config.pushEndpoint,
    pushPayload,
    oidcServiceAccountEmail: oidc?.serviceAccountEmail ?? "",
    oidcAudience: oidc?.audience ?? "",
  };
}

/** Herald's dead-letter topic and attempt limit for a Pub/Sub dead-letter policy (or none). */
export function deadLetterFromPubsub(policy: SubscriptionPb["deadLetterPolicy"]): {
  deadLetterTopic: string;
  maxDeliveryAttempts: number;
} {
  if (policy === undefined) {
    return { deadLetterTopic: "", maxDeliveryAttempts: PUBSUB_DEFAULTS.maxDeliveryAttemptsWithoutPolicy };
  }
  if (policy.deadLetterTopic === "") {
    throw DomainError.invalid("dead_letter_policy.dead_letter_topic", "is required");
  }
  const { id } = parseTopicName("dead_letter_policy.dead_letter_topic", policy.deadLetterTopic);
  const attempts = policy.maxDeliveryAttempts || PUBSUB_DEFAULTS.deadLetterMaxDeliveryAttempts;
  const { min, max } = PUBSUB_DEFAULTS.deadLetterAttempts;
  if (attempts < min || attempts > max) {
    throw DomainError.invalid(
      "dead_letter_policy.max_delivery_attempts",
      `must be between ${min} and ${max}`,
    );
  }
  return { deadLetterTopic: id, maxDeliveryAttempts: attempts };
}

/** Herald's backoff bounds for a Pub/Sub retry policy (or none: immediate redelivery). */
export function backoffFromPubsub(policy: SubscriptionPb["retryPolicy"]): {
  minBackoffMs: number;
  maxBackoffMs: number;
} {
  if (policy === undefined) {
    return {
      minBackoffMs: PUBSUB_DEFAULTS.backoffWithoutPolicyMs,
      maxBackoffMs: PUBSUB_DEFAULTS.backoffWithoutPolicyMs,
    };
  }
  const { minMs, maxMs, limitMs } = PUBSUB_DEFAULTS.retryPolicy;
  const minBackoffMs = durationToMs("retry_policy.minimum_backoff", policy.minimumBackoff) ?? minMs;
  const maxBackoffMs = durationToMs("retry_policy.maximum_backoff", policy.maximumBackoff) ?? maxMs;
  if (minBackoffMs > limitMs)
    throw DomainError.invalid("retry_policy.minimum_backoff", "must be at most 600s");
  if (maxBackoffMs > limitMs)
    throw DomainError.invalid("retry_policy.maximum_backoff", "must be at most 600s");
  return { minBackoffMs, maxBackoffMs };
}

/** Rejects the parts of a Pub/Sub subscription Herald does not implement. */
export function rejectUnsupported(s: SubscriptionPb): void {
  if (s.bigqueryConfig) throw unimplemented("BigQuery subscriptions");
  if (s.cloudStorageConfig) throw unimplemented("Cloud Storage subscriptions");
  if (s.bigtableConfig) throw unimplemented("Bigtable subscriptions");
  if (s.messageTransforms.length > 0) throw unimplemented("message transforms");
}

/** A CreateSubscription request as Herald's create input (subscriber and project added by the caller). */
export function createInputFromPubsub(
  s: SubscriptionPb,
  name: string,
  subscriberId: bigint,
  project: string,
): CreateSubscriptionInput {
  rejectUnsupported(s);
  if (s.topic === "") throw DomainError.invalid("topic", "is required");
  const topic = parseTopicName("topic", s.topic);
  const push = pushSettingsFromPubsub(s.pushConfig);
  return {
    name,
    subscriberId,
    topicCode: topic.id,
    pubsubProject: project,
    ...push,
    ackDeadlineSeconds: s.ackDeadlineSeconds || PUBSUB_DEFAULTS.ackDeadlineSeconds,
    messageTtlMs:
      durationToMs("message_retention_duration", s.messageRetentionDuration) ??
      PUBSUB_DEFAULTS.messageRetentionMs,
    enableOrdering: s.enableMessageOrdering,
    attributeFilter: s.filter,
    retainAckedMessages: s.retainAckedMessages,
    enableExactlyOnceDelivery: s.enableExactlyOnceDelivery,
    ...deadLetterFromPubsub(s.deadLetterPolicy),
    // A push subscription without a retry policy gets Herald's default push retry schedule rather
    // than immediate redelivery, which would hammer a receiver that is down (Pub/Sub backs off too).
    ...(s.retryPolicy === undefined && push.deliveryType === "push" ? {} : backoffFromPubsub(s.retryPolicy)),
  };
}

/** `delivery_attempt` follows Pub/Sub: reported only when the subscription has a dead-letter policy. */
export function receivedToPubsub(subscription: Subscription, delivery: Delivery): ReceivedMessage {
  const m = delivery.message;
  return create(ReceivedMessageSchema, {
    ackId: delivery.ackId,
    deliveryAttempt: subscription.deadLetterTopicId !== null ? delivery.deliveryAttempt : 0,
    message: {
      data: m.data,
      attributes: m.attributes,
      messageId: m.id.toString(),
      publishTime: timestampFromMs(m.createdAtMs),
      orderingKey: m.orderingKey,
    },
  });
}
