import { DomainError } from "../../domain/domain-error.js";
import type { Publisher } from "../../domain/publisher.js";
import { parseTopicGrants, type TopicGrants } from "../../domain/topic-grants.js";
import type { Repositories, Store } from "../ports/store.js";

/**
 * Which topics a publisher's API key may publish to (M1): set on CreatePublisher and
 * UpdatePublisher (`allowed_topics`), shown on every Publisher. Nothing is granted implicitly.
 */
export class PublisherTopicGrants {
  constructor(private readonly store: Store) {}

  /**
   * Replaces `publisher`'s grants with `entries` (topic codes, or ["*"]) inside the caller's
   * transaction. INVALID_ARGUMENT naming the entry for a malformed or unknown topic.
   */
  async replaceIn(repos: Repositories, publisher: Publisher, field: string, entries: readonly string[]) {
    const grants = parseTopicGrants(field, entries);
    const ids = await repos.publisherGrants.findTopicIds(grants.topicCodes);
    const missing = grants.topicCodes.find((code) => !ids.has(code));
    if (missing !== undefined) {
      throw DomainError.invalid(`${field}[${entries.indexOf(missing)}]`, `topic "${missing}" does not exist`);
    }
    await repos.publisherGrants.replace(publisher.id, grants.allTopics, [...ids.values()]);
  }

  /** The grants of each of `publishers`. */
  async of(publishers: readonly Publisher[]): Promise<Map<bigint, TopicGrants>> {
    return this.store.repos.publisherGrants.findMany(publishers.map((p) => p.id));
  }
}
