import type { ServiceImpl } from "@connectrpc/connect";
import type { Publisher } from "../../../gen/google/pubsub/v1/pubsub_pb.js";
import type { CodedEntityAdmin } from "../../app/admin/coded-entity-admin.js";
import type { SubscriptionAdmin } from "../../app/admin/subscription-admin.js";
import { authorizePublish } from "../../app/auth/authorization.js";
import type { PublishMessages } from "../../app/publish/publish-messages.js";
import type { PubsubIdentities } from "../../app/pubsub/pubsub-identities.js";
import type { PubsubTopicDeletion } from "../../app/pubsub/pubsub-topic-deletion.js";
import type { SnapshotAdmin } from "../../app/replay/snapshot-admin.js";
import { DomainError } from "../../domain/domain-error.js";
import type { Topic } from "../../domain/topic.js";
import { principalOf } from "../authentication.js";
import { topicRetentionFromPubsub, topicToPubsub, unimplemented } from "./pubsub-conversion.js";
import { createPubsubTopicSnapshotHandlers } from "./pubsub-snapshot-handlers.js";
import { parseProjectName, parseTopicName, subscriptionName } from "./resource-names.js";

export interface PubsubPublisherDeps {
  topics: CodedEntityAdmin<Topic>;
  topicDeletion: PubsubTopicDeletion;
  subscriptions: SubscriptionAdmin;
  publishing: PublishMessages;
  identities: PubsubIdentities;
  snapshots: SnapshotAdmin;
}

/** Topic update-mask paths Herald accepts: labels are accepted and not stored (see README). */
const IGNORED_TOPIC_PATHS = new Set(["labels"]);

/** google.pubsub.v1.Publisher over Herald's topics and Publish use case. */
export function createPubsubPublisherHandlers(deps: PubsubPublisherDeps): ServiceImpl<typeof Publisher> {
  const { topics, topicDeletion, subscriptions, publishing, identities } = deps;
  return {
    async createTopic(req) {
      const { project, id } = parseTopicName("name", req.name);
      if (req.schemaSettings) throw unimplemented("schemas");
      if (req.messageTransforms.length > 0) throw unimplemented("message transforms");
      const retentionMs = topicRetentionFromPubsub(
        "message_retention_duration",
        req.messageRetentionDuration,
      );
      const { entity } = await topics.create({ code: id, name: id, description: "" }, (repos, topic) =>
        retentionMs
          ? repos.topics.setMessageRetention(topic.id, retentionMs, topic.createdAtMs)
          : Promise.resolve(),
      );
      await identities.grantTopic(entity.id);
      return topicToPubsub(project, { ...entity, messageRetentionMs: retentionMs ?? 0 });
    },

    async getTopic(req) {
      const { project, id } = parseTopicName("topic", req.topic);
      return topicToPubsub(project, await topics.get(id));
    },

    async updateTopic(req) {
      if (!req.topic) throw DomainError.invalid("topic", "is required");
      const { project, id } = parseTopicName("topic.name", req.topic.name);
      let retentionMs: number | undefined;
      for (const path of req.updateMask?.paths ?? []) {
        if (path === "message_retention_duration") {
          retentionMs =
            topicRetentionFromPubsub(
              "topic.message_retention_duration",
              req.topic.messageRetentionDuration,
            ) ?? 0;
        } else if (!IGNORED_TOPIC_PATHS.has(path)) {
          throw DomainError.invalid("update_mask", `Herald cannot update "${path.slice(0, 64)}" of a topic`);
        }
      }
      if (retentionMs !== undefined) {
        const ms = retentionMs;
        await topics.update(id, {}, (repos, topic) =>
          repos.topics.setMessageRetention(topic.id, ms, topic.updatedAtMs),
        );
      }
      return topicToPubsub(project, await topics.get(id));
    },

    async listTopics(req) {
      const project = parseProjectName("project", req.project);
      const page = await topics.list(req.pageSize, req.pageToken);
      return {
        topics: page.items.map((t) => topicToPubsub(project, t)),
        nextPageToken: page.nextPageToken,
      };
    },

    async listTopicSubscriptions(req) {
      const { project, id } = parseTopicName("topic", req.topic);
      const page = await subscriptions.list({
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        topicCode: id,
        showDeleted: false,
      });
      return {
        subscriptions: page.items.map((s) => subscriptionName(project, s.name)),
        nextPageToken: page.nextPageToken,
      };
    },

    async deleteTopic(req) {
      const { id } = parseTopicName("topic", req.topic);
      await topicDeletion.delete(id);
      return {};
    },

    async publish(req, ctx) {
      const { id } = parseTopicName("topic", req.topic);
      const principal = principalOf(ctx);
      // A publisher key publishes as its own publisher; otherwise the configured compat publisher.
      const publisher = principal.kind === "publisher" ? principal.code : await identities.publisher();
      authorizePublish(principal, publisher, id);
      const result = await publishing.publish(
        {
          publisher,
          topic: id,
          messages: req.messages.map((m) => ({
            data: m.data,
            attributes: m.attributes,
            orderingKey: m.orderingKey,
            identifier: "",
            dedupId: "",
          })),
        },
        ctx.signal,
      );
      return { messageIds: result.messageIds.map((messageId) => messageId.toString()) };
    },

    ...createPubsubTopicSnapshotHandlers(deps),

    async detachSubscription() {
      throw unimplemented("detaching subscriptions");
    },
  };
}
