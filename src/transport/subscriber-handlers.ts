import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  DeliveredMessageSchema,
  type ReceivedMessage,
  ReceivedMessageSchema,
  type SubscriberService,
} from "../../gen/herald/v1/subscriber_service_pb.js";
import { authorizeConsume } from "../app/auth/authorization.js";
import type { Delivery } from "../app/consume/delivery-service.js";
import type { SubscriptionLookup } from "../app/consume/subscription-lookup.js";
import { ACK_DEADLINE_SECONDS } from "../domain/ack-deadline.js";
import { CONSUMER_LIMITS } from "../domain/consumer-limits.js";
import { DomainError } from "../domain/domain-error.js";
import type { Subscription } from "../domain/subscription.js";
import { requireMaxBytes } from "../domain/text-limits.js";
import type { ConsumerEngine } from "../engine/consumer-engine.js";
import type { StreamLimits } from "../engine/stream-consumer.js";
import { principalOf } from "./authentication.js";
import { durationToMs } from "./proto-conversion.js";
import { guardStreamAccess, type StreamAccessOptions, streamPrincipalKey } from "./stream-access.js";

/**
 * A stream's flow-control limits from a request's (validated, non-negative) values: 0 takes
 * Herald's default, larger values are capped at the most one stream may hold.
 */
export function streamLimits(messages: bigint, bytes: bigint, leaseMs: number): StreamLimits {
  const L = CONSUMER_LIMITS;
  const maxMessages = BigInt(L.maxOutstandingMessages);
  const maxBytes = BigInt(L.maxOutstandingBytes);
  return {
    maxOutstandingMessages:
      messages === 0n
        ? L.defaultMaxOutstandingMessages
        : Number(messages > maxMessages ? maxMessages : messages),
    maxOutstandingBytes:
      bytes === 0n ? L.defaultMaxOutstandingBytes : Number(bytes > maxBytes ? maxBytes : bytes),
    leaseMs,
  };
}

function toReceived(subscription: Subscription, delivery: Delivery): ReceivedMessage {
  const m = delivery.message;
  return create(ReceivedMessageSchema, {
    ackId: delivery.ackId,
    deliveryAttempt: delivery.deliveryAttempt,
    message: create(DeliveredMessageSchema, {
      messageId: m.id.toString(),
      publishTime: timestampFromMs(m.createdAtMs),
      data: m.data,
      attributes: m.attributes,
      orderingKey: m.orderingKey,
      identifier: m.identifier,
      topic: subscription.topicCode,
    }),
  });
}

/** Ack ids of one Acknowledge or ModifyAckDeadline call: at least one, at most the per-call limit. */
export function validateAckIds(ackIds: readonly string[]): void {
  if (ackIds.length === 0) throw DomainError.invalid("ack_ids", "at least one ack id is required");
  validateAckIdCount("ack_ids", ackIds);
}

/** The per-call ack-id limit, on every path that takes ack ids (StreamingPull requests too). */
export function validateAckIdCount(field: string, ackIds: readonly string[]): void {
  if (ackIds.length > CONSUMER_LIMITS.maxAckIdsPerCall) {
    throw DomainError.invalid(field, `at most ${CONSUMER_LIMITS.maxAckIdsPerCall} per call`);
  }
}

/** herald.v1.SubscriberService: Subscribe, Pull, Acknowledge, ModifyAckDeadline and Reject on PULL subscriptions. */
export function createSubscriberHandlers(
  lookup: SubscriptionLookup,
  engine: ConsumerEngine,
  access: StreamAccessOptions,
): ServiceImpl<typeof SubscriberService> {
  return {
    async *subscribe(req, ctx) {
      const L = CONSUMER_LIMITS;
      if (req.maxOutstandingMessages < 0 || req.maxOutstandingMessages > L.maxOutstandingMessages) {
        throw DomainError.invalid(
          "max_outstanding_messages",
          `must be between 0 and ${L.maxOutstandingMessages}`,
        );
      }
      if (req.maxOutstandingBytes < 0n)
        throw DomainError.invalid("max_outstanding_bytes", "must not be negative");
      const { min, max } = ACK_DEADLINE_SECONDS;
      if (req.ackDeadlineSeconds !== 0 && (req.ackDeadlineSeconds < min || req.ackDeadlineSeconds > max)) {
        throw DomainError.invalid(
          "ack_deadline_seconds",
          `must be 0 (the subscription's) or between ${min} and ${max}`,
        );
      }
      const subscription = await lookup.require(req.subscription, "pull");
      const principal = principalOf(ctx);
      authorizeConsume(principal, subscription);
      const limits = streamLimits(
        BigInt(req.maxOutstandingMessages),
        req.maxOutstandingBytes,
        (req.ackDeadlineSeconds || subscription.ackDeadlineSeconds) * 1000,
      );
      const guard = guardStreamAccess(ctx, req.subscription, access);
      try {
        const signal = AbortSignal.any([ctx.signal, guard.signal]);
        for await (const batch of engine.subscribe(
          subscription,
          limits,
          signal,
          streamPrincipalKey(principal),
        )) {
          yield { receivedMessages: batch.map((d) => toReceived(subscription, d)) };
        }
      } finally {
        guard.stop();
      }
      // Access was lost (key revoked, subscriber deactivated, subscription deleted): say so.
      if (guard.failure() !== undefined) throw guard.failure();
    },

    async pull(req, ctx) {
      const L = CONSUMER_LIMITS;
      if (req.maxMessages < 1 || req.maxMessages > L.maxPullMessages) {
        throw DomainError.invalid("max_messages", `must be between 1 and ${L.maxPullMessages}`);
      }
      const maxWaitMs = durationToMs("max_wait", req.maxWait) ?? 0;
      if (maxWaitMs > L.maxPullWaitMs)
        throw DomainError.invalid("max_wait", `must be at most ${L.maxPullWaitMs / 1000}s`);
      const subscription = await lookup.require(req.subscription, "pull");
      authorizeConsume(principalOf(ctx), subscription);
      const batch = await engine.pull(subscription, req.maxMessages, maxWaitMs, ctx.signal);
      return { receivedMessages: batch.map((d) => toReceived(subscription, d)) };
    },

    async acknowledge(req, ctx) {
      validateAckIds(req.ackIds);
      const subscription = await lookup.require(req.subscription, "pull");
      authorizeConsume(principalOf(ctx), subscription);
      const outcome = await engine.acknowledge(subscription, req.ackIds);
      return { invalidAckIds: outcome.invalidAckIds };
    },

    async modifyAckDeadline(req, ctx) {
      validateAckIds(req.ackIds);
      const subscription = await lookup.require(req.subscription, "pull");
      authorizeConsume(principalOf(ctx), subscription);
      const outcome = await engine.modifyAckDeadline(subscription, req.ackIds, req.ackDeadlineSeconds);
      return { invalidAckIds: outcome.invalidAckIds };
    },

    async reject(req, ctx) {
      validateAckIds(req.ackIds);
      requireMaxBytes("reason", req.reason, MAX_REJECT_REASON_BYTES);
      const subscription = await lookup.require(req.subscription, "pull");
      authorizeConsume(principalOf(ctx), subscription);
      const outcome = await engine.reject(subscription, req.ackIds, req.reason || "rejected");
      return { invalidAckIds: outcome.invalidAckIds };
    },
  };
}

/** Longest Reject reason: what a consumer says about a poison message, not its stack trace. */
const MAX_REJECT_REASON_BYTES = 1024;
