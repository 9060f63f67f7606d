/** proto ⇄ domain conversion for the admin and publish contracts. */
import { create } from "@bufbuild/protobuf";
import { type Duration, DurationSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  DeliveryType as DeliveryTypePb,
  type Publisher as PublisherPb,
  PublisherSchema,
  type Subscriber as SubscriberPb,
  SubscriberSchema,
  type Subscription as SubscriptionPb,
  SubscriptionSchema,
  type Topic as TopicPb,
  TopicSchema,
} from "../../gen/herald/v1/resources_pb.js";
import { DomainError } from "../domain/domain-error.js";
import type { Publisher } from "../domain/publisher.js";
import { effectiveRetryDelaysMs } from "../domain/retry-schedule.js";
import type { Subscriber } from "../domain/subscriber.js";
import type { DeliveryType, Subscription } from "../domain/subscription.js";
import type { Topic } from "../domain/topic.js";
import { type TopicGrants, topicGrantEntries } from "../domain/topic-grants.js";

/** A google.protobuf.Duration as whole milliseconds; undefined when absent. Negative or absurd values are INVALID_ARGUMENT. */
export function durationToMs(field: string, duration: Duration | undefined): number | undefined {
  if (duration === undefined) return undefined;
  const { seconds, nanos } = duration;
  if (seconds < 0n || nanos < 0 || nanos > 999_999_999)
    throw DomainError.invalid(field, "must be a non-negative duration");
  if (seconds > 10n ** 12n) throw DomainError.invalid(field, "is too long");
  return Number(seconds) * 1000 + Math.floor(nanos / 1_000_000);
}

/** A repeated Duration field as ms each; undefined when empty (proto3 cannot tell empty from unset). */
export function durationsToMs(field: string, durations: readonly Duration[]): number[] | undefined {
  if (durations.length === 0) return undefined;
  return durations.map((d, i) => durationToMs(`${field}[${i}]`, d) ?? 0);
}

export function msToDuration(ms: number): Duration {
  return create(DurationSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
}

export function deliveryTypeFromPb(value: DeliveryTypePb): DeliveryType {
  switch (value) {
    case DeliveryTypePb.UNSPECIFIED:
    case DeliveryTypePb.PULL:
      return "pull";
    case DeliveryTypePb.PUSH:
      return "push";
    default:
      throw DomainError.invalid("delivery_type", `unknown value ${value as number}`);
  }
}

export function publisherToPb(p: Publisher, grants: TopicGrants): PublisherPb {
  return create(PublisherSchema, {
    id: p.id,
    code: p.code,
    name: p.name,
    description: p.description,
    isActive: p.isActive,
    createTime: timestampFromMs(p.createdAtMs),
    updateTime: timestampFromMs(p.updatedAtMs),
    allowedTopics: topicGrantEntries(grants),
  });
}

export function topicToPb(t: Topic): TopicPb {
  return create(TopicSchema, {
    id: t.id,
    code: t.code,
    name: t.name,
    description: t.description,
    isActive: t.isActive,
    createTime: timestampFromMs(t.createdAtMs),
    updateTime: timestampFromMs(t.updatedAtMs),
    ...(t.messageRetentionMs ? { messageRetentionDuration: msToDuration(t.messageRetentionMs) } : {}),
  });
}

export function subscriberToPb(s: Subscriber): SubscriberPb {
  return create(SubscriberSchema, {
    id: s.id,
    clientId: s.clientId,
    name: s.name,
    webhookUrl: s.webhookUrl,
    isActive: s.isActive,
    createTime: timestampFromMs(s.createdAtMs),
    updateTime: timestampFromMs(s.updatedAtMs),
  });
}

export function subscriptionToPb(s: Subscription): SubscriptionPb {
  return create(SubscriptionSchema, {
    id: s.id,
    name: s.name,
    subscriberId: s.subscriberId,
    topic: s.topicCode,
    identifier: s.identifierFilter,
    deliveryType: s.deliveryType === "push" ? DeliveryTypePb.PUSH : DeliveryTypePb.PULL,
    pushEndpoint: s.pushEndpoint,
    ackDeadlineSeconds: s.ackDeadlineSeconds,
    maxDeliveryAttempts: s.maxDeliveryAttempts,
    minBackoff: msToDuration(s.minBackoffMs),
    maxBackoff: msToDuration(s.maxBackoffMs),
    messageTtl: msToDuration(s.messageTtlMs),
    enableOrdering: s.enableOrdering,
    isActive: s.isActive,
    createTime: timestampFromMs(s.createdAtMs),
    updateTime: timestampFromMs(s.updatedAtMs),
    ...(s.deletedAtMs !== null ? { deleteTime: timestampFromMs(s.deletedAtMs) } : {}),
    callbackUrl: s.callbackUrl,
    ...(s.pausedAtMs !== null
      ? { pauseTime: timestampFromMs(s.pausedAtMs), pauseReason: s.pauseReason ?? "" }
      : {}),
    ...(s.pushFailingSinceMs !== null ? { pushFailingSince: timestampFromMs(s.pushFailingSinceMs) } : {}),
    filter: s.attributeFilter,
    deadLetterTopic: s.deadLetterTopicCode ?? "",
    retainAckedMessages: s.retainAckedMessages,
    enableExactlyOnceDelivery: s.enableExactlyOnceDelivery,
    retrySchedule: s.retryScheduleMs.map(msToDuration),
    effectiveRetryDelays: effectiveRetryDelaysMs(s).map(msToDuration),
    pushHeaderNames: [...s.pushHeaderNames],
    noWrapper: s.pushPayload !== "wrapped",
    writeMetadata: s.pushPayload === "unwrapped_metadata",
    pushRateLimitPerSecond: s.pushRateLimitPerSecond,
    ...(s.oidcServiceAccountEmail !== ""
      ? { oidcToken: { serviceAccountEmail: s.oidcServiceAccountEmail, audience: s.oidcAudience } }
      : {}),
  });
}
