import type { ServiceImpl } from "@connectrpc/connect";
import type { Subscriber, Subscription as SubscriptionPb } from "../../../gen/google/pubsub/v1/pubsub_pb.js";
import type { SubscriptionAdmin, UpdateSubscriptionInput } from "../../app/admin/subscription-admin.js";
import { authorizeConsume } from "../../app/auth/authorization.js";
import type { SubscriptionLookup } from "../../app/consume/subscription-lookup.js";
import type { PubsubIdentities } from "../../app/pubsub/pubsub-identities.js";
import { CONSUMER_LIMITS } from "../../domain/consumer-limits.js";
import { DomainError } from "../../domain/domain-error.js";
import type { ConsumerEngine } from "../../engine/consumer-engine.js";
import { principalOf } from "../authentication.js";
import { durationToMs } from "../proto-conversion.js";
import type { StreamAccessOptions } from "../stream-access.js";
import { validateAckIds } from "../subscriber-handlers.js";
import { confirmUnary } from "./ack-confirmations.js";
import {
  backoffFromPubsub,
  createInputFromPubsub,
  deadLetterFromPubsub,
  PUBSUB_DEFAULTS,
  pushSettingsFromPubsub,
  receivedToPubsub,
  subscriptionToPubsub,
} from "./pubsub-conversion.js";
import { createPubsubSnapshotHandlers, type PubsubSnapshotDeps } from "./pubsub-snapshot-handlers.js";
import { parseProjectName, parseSubscriptionName } from "./resource-names.js";
import { createStreamingPull, type StreamAckErrorReporter } from "./streaming-pull.js";

export interface PubsubSubscriberDeps extends PubsubSnapshotDeps {
  subscriptions: SubscriptionAdmin;
  lookup: SubscriptionLookup;
  engine: ConsumerEngine;
  identities: PubsubIdentities;
  onAckError: StreamAckErrorReporter;
  /** Re-checks of open StreamingPull streams' credentials and subscription. */
  streamAccess: StreamAccessOptions;
}

/** How long a Pull without return_immediately waits for the first message. */
const PULL_WAIT_MS = 10_000;

/** Update-mask paths Herald applies; labels and expiration_policy are accepted and not stored. */
function updateFromMask(s: SubscriptionPb, paths: readonly string[]): UpdateSubscriptionInput {
  if (paths.length === 0) throw DomainError.invalid("update_mask", "names no field to update");
  const update: UpdateSubscriptionInput = {};
  for (const path of paths) {
    switch (path) {
      case "ack_deadline_seconds":
        update.ackDeadlineSeconds = s.ackDeadlineSeconds || PUBSUB_DEFAULTS.ackDeadlineSeconds;
        break;
      case "push_config":
        Object.assign(update, pushSettingsFromPubsub(s.pushConfig));
        break;
      case "message_retention_duration":
        update.messageTtlMs =
          durationToMs("subscription.message_retention_duration", s.messageRetentionDuration) ??
          PUBSUB_DEFAULTS.messageRetentionMs;
        break;
      case "dead_letter_policy":
        Object.assign(update, deadLetterFromPubsub(s.deadLetterPolicy));
        break;
      case "retry_policy":
        Object.assign(update, backoffFromPubsub(s.retryPolicy));
        break;
      case "retain_acked_messages":
        update.retainAckedMessages = s.retainAckedMessages;
        break;
      case "enable_exactly_once_delivery":
        update.enableExactlyOnceDelivery = s.enableExactlyOnceDelivery;
        break;
      case "labels":
      case "expiration_policy":
        break;
      default:
        throw DomainError.invalid(
          "update_mask",
          `Herald cannot update "${path.slice(0, 64)}" of a subscription`,
        );
    }
  }
  return update;
}

/** google.pubsub.v1.Subscriber over Herald's subscriptions and consumer engine. */
export function createPubsubSubscriberHandlers(deps: PubsubSubscriberDeps): ServiceImpl<typeof Subscriber> {
  const { subscriptions, lookup, engine, identities } = deps;
  const consumable = async (name: string, ctx: Parameters<typeof principalOf>[0]) => {
    const { id } = parseSubscriptionName("subscription", name);
    const subscription = await lookup.require(id, "pull");
    authorizeConsume(principalOf(ctx), subscription);
    return subscription;
  };
  return {
    async createSubscription(req) {
      const { project, id } = parseSubscriptionName("name", req.name);
      const input = createInputFromPubsub(req, id, await identities.subscriber(), project);
      return subscriptionToPubsub(project, await subscriptions.create(input));
    },

    async getSubscription(req) {
      const { project, id } = parseSubscriptionName("subscription", req.subscription);
      const subscription = await subscriptions.find(id);
      if (subscription.deletedAtMs !== null) throw DomainError.notFound("subscription", id);
      return subscriptionToPubsub(project, subscription);
    },

    async updateSubscription(req) {
      if (!req.subscription) throw DomainError.invalid("subscription", "is required");
      const { project, id } = parseSubscriptionName("subscription.name", req.subscription.name);
      const update = updateFromMask(req.subscription, req.updateMask?.paths ?? []);
      return subscriptionToPubsub(project, await subscriptions.update(id, update));
    },

    async listSubscriptions(req) {
      const project = parseProjectName("project", req.project);
      const page = await subscriptions.list({
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        showDeleted: false,
      });
      return {
        subscriptions: page.items.map((s) => subscriptionToPubsub(project, s)),
        nextPageToken: page.nextPageToken,
      };
    },

    async deleteSubscription(req) {
      const { id } = parseSubscriptionName("subscription", req.subscription);
      await subscriptions.delete(id);
      return {};
    },

    async modifyPushConfig(req) {
      const { id } = parseSubscriptionName("subscription", req.subscription);
      await subscriptions.update(id, pushSettingsFromPubsub(req.pushConfig));
      return {};
    },

    async pull(req, ctx) {
      if (req.maxMessages <= 0) throw DomainError.invalid("max_messages", "must be positive");
      const subscription = await consumable(req.subscription, ctx);
      const max = Math.min(req.maxMessages, CONSUMER_LIMITS.maxPullMessages);
      const waitMs = req.returnImmediately ? 0 : PULL_WAIT_MS;
      const batch = await engine.pull(subscription, max, waitMs, ctx.signal);
      return { receivedMessages: batch.map((d) => receivedToPubsub(subscription, d)) };
    },

    streamingPull: createStreamingPull(lookup, engine, deps.onAckError, deps.streamAccess),

    async acknowledge(req, ctx) {
      validateAckIds(req.ackIds);
      const subscription = await consumable(req.subscription, ctx);
      // Without exactly-once delivery Pub/Sub answers OK for unknown or expired ack ids too.
      const outcome = await engine.acknowledge(subscription, req.ackIds);
      confirmUnary(subscription.enableExactlyOnceDelivery, req.ackIds, outcome);
      return {};
    },

    async modifyAckDeadline(req, ctx) {
      validateAckIds(req.ackIds);
      const subscription = await consumable(req.subscription, ctx);
      const outcome = await engine.modifyAckDeadline(subscription, req.ackIds, req.ackDeadlineSeconds);
      confirmUnary(subscription.enableExactlyOnceDelivery, req.ackIds, outcome);
      return {};
    },

    ...createPubsubSnapshotHandlers(deps),
  };
}
