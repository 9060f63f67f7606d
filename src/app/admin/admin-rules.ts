import { DomainError } from "../../domain/domain-error.js";
import { type Publisher, validatePublisherCode } from "../../domain/publisher.js";
import { type Topic, validateTopicCode } from "../../domain/topic.js";
import { issueKeyIn } from "./api-key-admin.js";
import type { CodedEntityRules } from "./coded-entity-admin.js";

/** A publisher that has published keeps its messages' provenance: deactivate it instead of deleting. */
export const publisherRules: CodedEntityRules<Publisher> = {
  what: "publisher",
  validateCode: validatePublisherCode,
  repository: (repos) => repos.publishers,
  issueCredential: (repos, publisher, nowMs) => issueKeyIn(repos, "publisher", publisher.id, nowMs),
  onDelete: (repos, publisher) => repos.apiKeys.deleteForOwner("publisher", publisher.id),
  async assertDeletable(repos, publisher) {
    if (await repos.publishers.hasMessages(publisher.id)) {
      throw DomainError.precondition(
        "PUBLISHER_HAS_MESSAGES",
        `publisher "${publisher.code}" has published messages; deactivate it instead`,
      );
    }
  },
};

/** A topic with messages or subscriptions (deleted ones keep history) would orphan rows: deactivate it instead. */
export const topicRules: CodedEntityRules<Topic> = {
  what: "topic",
  validateCode: validateTopicCode,
  repository: (repos) => repos.topics,
  async assertDeletable(repos, topic) {
    if ((await repos.subscriptions.countByTopic(topic.id)) > 0) {
      throw DomainError.precondition(
        "TOPIC_HAS_SUBSCRIPTIONS",
        `topic "${topic.code}" has subscriptions; deactivate it instead`,
      );
    }
    if (await repos.topics.hasMessages(topic.id)) {
      throw DomainError.precondition(
        "TOPIC_HAS_MESSAGES",
        `topic "${topic.code}" has messages; deactivate it instead`,
      );
    }
  },
};
