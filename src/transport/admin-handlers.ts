import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import type { CodedEntityAdmin } from "../app/admin/coded-entity-admin.js";
import type { Inspection } from "../app/admin/inspection.js";
import type { PublisherKeys } from "../app/admin/publisher-keys.js";
import type { PublisherTopicGrants } from "../app/admin/publisher-topic-grants.js";
import type { SubscriberAdmin } from "../app/admin/subscriber-admin.js";
import type { SubscriptionAdmin } from "../app/admin/subscription-admin.js";
import type { SnapshotAdmin } from "../app/replay/snapshot-admin.js";
import type { SubscriptionSeek } from "../app/replay/subscription-seek.js";
import type { Publisher } from "../domain/publisher.js";
import { type Topic, validateTopicRetention } from "../domain/topic.js";
import { NO_TOPICS } from "../domain/topic-grants.js";
import { createInspectionHandlers } from "./inspection-handlers.js";
import {
  deliveryTypeFromPb,
  durationsToMs,
  durationToMs,
  publisherToPb,
  subscriberToPb,
  subscriptionToPb,
  topicToPb,
} from "./proto-conversion.js";
import { createSnapshotHandlers } from "./snapshot-handlers.js";

export interface AdminUseCases {
  publishers: CodedEntityAdmin<Publisher>;
  publisherKeys: PublisherKeys;
  publisherGrants: PublisherTopicGrants;
  topics: CodedEntityAdmin<Topic>;
  subscribers: SubscriberAdmin;
  subscriptions: SubscriptionAdmin;
  seek: SubscriptionSeek;
  snapshots: SnapshotAdmin;
}

function definedSettings(req: {
  ackDeadlineSeconds?: number;
  maxDeliveryAttempts?: number;
  minBackoff?: Parameters<typeof durationToMs>[1];
  maxBackoff?: Parameters<typeof durationToMs>[1];
  messageTtl?: Parameters<typeof durationToMs>[1];
  retrySchedule: NonNullable<Parameters<typeof durationToMs>[1]>[];
  pushRateLimitPerSecond?: number;
}) {
  return {
    pushRateLimitPerSecond: req.pushRateLimitPerSecond,
    retryScheduleMs: durationsToMs("retry_schedule", req.retrySchedule),
    ackDeadlineSeconds: req.ackDeadlineSeconds,
    maxDeliveryAttempts: req.maxDeliveryAttempts,
    minBackoffMs: durationToMs("min_backoff", req.minBackoff),
    maxBackoffMs: durationToMs("max_backoff", req.maxBackoff),
    messageTtlMs: durationToMs("message_ttl", req.messageTtl),
  };
}

/** The OIDC token settings of a request; nothing when the message is absent (unchanged on update). */
function oidcSettings(token: { serviceAccountEmail: string; audience: string } | undefined) {
  return token === undefined
    ? {}
    : { oidcServiceAccountEmail: token.serviceAccountEmail, oidcAudience: token.audience };
}

/** herald.v1.AdminService: thin proto ⇄ use-case translation; rules live in src/app and src/domain. */
export function createAdminHandlers(
  admin: AdminUseCases,
  inspection: Inspection,
): ServiceImpl<typeof AdminService> {
  const { publishers, publisherKeys, publisherGrants, topics, subscribers, subscriptions, seek } = admin;
  const withGrants = async (publisher: Publisher) =>
    publisherToPb(publisher, (await publisherGrants.of([publisher])).get(publisher.id) ?? NO_TOPICS);
  return {
    ...createInspectionHandlers(inspection),
    ...createSnapshotHandlers(admin.snapshots, seek),
    async createPublisher(req) {
      const created = await publishers.create(req, (repos, publisher) =>
        req.allowedTopics.length > 0
          ? publisherGrants.replaceIn(repos, publisher, "allowed_topics", req.allowedTopics)
          : Promise.resolve(),
      );
      return { publisher: await withGrants(created.entity), apiKey: created.credential };
    },
    async rotatePublisherKey(req) {
      const rotated = await publisherKeys.rotate(req.code, durationToMs("overlap", req.overlap));
      return { apiKey: rotated.key, previousKeyExpireTime: timestampFromMs(rotated.previousExpiresAtMs) };
    },
    async getPublisher(req) {
      return { publisher: await withGrants(await publishers.get(req.code)) };
    },
    async listPublishers(req) {
      const page = await publishers.list(req.pageSize, req.pageToken);
      const grants = await publisherGrants.of(page.items);
      return {
        publishers: page.items.map((p) => publisherToPb(p, grants.get(p.id) ?? NO_TOPICS)),
        nextPageToken: page.nextPageToken,
      };
    },
    async updatePublisher(req) {
      const allowed = req.allowedTopics;
      const updated = await publishers.update(req.code, req, (repos, publisher) =>
        allowed
          ? publisherGrants.replaceIn(repos, publisher, "allowed_topics.topics", allowed.topics)
          : Promise.resolve(),
      );
      return { publisher: await withGrants(updated) };
    },
    async deletePublisher(req) {
      await publishers.delete(req.code);
      return {};
    },

    async createTopic(req) {
      const retentionMs = topicRetentionMs(req.messageRetentionDuration);
      const created = await topics.create(req, (repos, topic) =>
        retentionMs
          ? repos.topics.setMessageRetention(topic.id, retentionMs, topic.createdAtMs)
          : Promise.resolve(),
      );
      return { topic: topicToPb({ ...created.entity, messageRetentionMs: retentionMs ?? 0 }) };
    },
    async getTopic(req) {
      return { topic: topicToPb(await topics.get(req.code)) };
    },
    async listTopics(req) {
      const page = await topics.list(req.pageSize, req.pageToken);
      return { topics: page.items.map(topicToPb), nextPageToken: page.nextPageToken };
    },
    async updateTopic(req) {
      const retentionMs = topicRetentionMs(req.messageRetentionDuration);
      const updated = await topics.update(req.code, req, (repos, topic) =>
        retentionMs === undefined
          ? Promise.resolve()
          : repos.topics.setMessageRetention(topic.id, retentionMs, topic.updatedAtMs),
      );
      return { topic: topicToPb(updated) };
    },
    async deleteTopic(req) {
      await topics.delete(req.code);
      return {};
    },

    async createSubscriber(req) {
      const created = await subscribers.create({
        clientId: req.clientId,
        name: req.name,
        webhookUrl: req.webhookUrl,
      });
      return {
        subscriber: subscriberToPb(created.subscriber),
        signingSecret: created.signingSecret,
        apiKey: created.apiKey,
      };
    },
    async rotateSubscriberKey(req) {
      const rotated = await subscribers.rotateKey(req.id, durationToMs("overlap", req.overlap));
      return { apiKey: rotated.key, previousKeyExpireTime: timestampFromMs(rotated.previousExpiresAtMs) };
    },
    async rotateSubscriberSecret(req) {
      const rotated = await subscribers.rotateSecret(req.id, durationToMs("overlap", req.overlap));
      return {
        signingSecret: rotated.signingSecret,
        previousSecretExpireTime: timestampFromMs(rotated.previousExpiresAtMs),
      };
    },
    async getSubscriber(req) {
      return { subscriber: subscriberToPb(await subscribers.get(req.id)) };
    },
    async listSubscribers(req) {
      const page = await subscribers.list(
        req.pageSize,
        req.pageToken,
        req.clientId === 0n ? undefined : req.clientId,
      );
      return { subscribers: page.items.map(subscriberToPb), nextPageToken: page.nextPageToken };
    },
    async updateSubscriber(req) {
      const patch = { name: req.name, webhookUrl: req.webhookUrl, isActive: req.isActive };
      return { subscriber: subscriberToPb(await subscribers.update(req.id, patch)) };
    },
    async deleteSubscriber(req) {
      await subscribers.delete(req.id);
      return {};
    },

    async createSubscription(req) {
      const created = await subscriptions.create({
        name: req.name,
        subscriberId: req.subscriberId,
        topicCode: req.topic,
        deliveryType: deliveryTypeFromPb(req.deliveryType),
        identifierFilter: req.identifier,
        pushEndpoint: req.pushEndpoint,
        enableOrdering: req.enableOrdering,
        attributeFilter: req.filter,
        deadLetterTopic: req.deadLetterTopic,
        retainAckedMessages: req.retainAckedMessages,
        enableExactlyOnceDelivery: req.enableExactlyOnceDelivery,
        ...definedSettings(req),
        pushHeaders: req.pushHeaders,
        noWrapper: req.noWrapper,
        writeMetadata: req.writeMetadata,
        ...oidcSettings(req.oidcToken),
      });
      return { subscription: subscriptionToPb(created) };
    },
    async getSubscription(req) {
      const full = await subscriptions.get(req.name);
      return { subscription: subscriptionToPb(full.subscription), messageCount: BigInt(full.messageCount) };
    },
    async listSubscriptions(req) {
      const page = await subscriptions.list({
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        topicCode: req.topic,
        subscriberId: req.subscriberId,
        showDeleted: req.showDeleted,
      });
      return { subscriptions: page.items.map(subscriptionToPb), nextPageToken: page.nextPageToken };
    },
    async updateSubscription(req) {
      const updated = await subscriptions.update(req.name, {
        identifierFilter: req.identifier,
        pushEndpoint: req.pushEndpoint,
        enableOrdering: req.enableOrdering,
        attributeFilter: req.filter,
        deadLetterTopic: req.deadLetterTopic,
        retainAckedMessages: req.retainAckedMessages,
        enableExactlyOnceDelivery: req.enableExactlyOnceDelivery,
        ...definedSettings(req),
        pushHeaders: req.pushHeaders?.headers,
        noWrapper: req.noWrapper,
        writeMetadata: req.writeMetadata,
        ...oidcSettings(req.oidcToken),
      });
      return { subscription: subscriptionToPb(updated) };
    },
    async deleteSubscription(req) {
      await subscriptions.delete(req.name);
      return {};
    },
    async pauseSubscription(req) {
      return { subscription: subscriptionToPb(await subscriptions.pause(req.name, req.reason)) };
    },
    async resumeSubscription(req) {
      return { subscription: subscriptionToPb(await subscriptions.resume(req.name)) };
    },
  };
}

/** A request's topic message retention (validated), ms; undefined when the field is unset. */
function topicRetentionMs(duration: Parameters<typeof durationToMs>[1]): number | undefined {
  const ms = durationToMs("message_retention_duration", duration);
  if (ms !== undefined) validateTopicRetention("message_retention_duration", ms);
  return ms;
}
