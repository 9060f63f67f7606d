/** Storage port of publishers' topic grants. */
import type { TopicGrants } from "../../domain/topic-grants.js";

/** Which topics each publisher may publish to (publishers.publishes_to_all_topics and publisher_topics). */
export interface PublisherGrantRepository {
  /** The grants of each publisher asked for (NO_TOPICS for one without any). */
  findMany(publisherIds: readonly bigint[]): Promise<Map<bigint, TopicGrants>>;
  /** Replaces a publisher's grants: every topic, or exactly `topicIds`. */
  replace(publisherId: bigint, allTopics: boolean, topicIds: readonly bigint[]): Promise<void>;
  /** The ids of those of `codes` that name a topic. */
  findTopicIds(codes: readonly string[]): Promise<Map<string, bigint>>;
  /** Adds one topic to a publisher's grants (no-op when already granted). */
  grant(publisherId: bigint, topicId: bigint): Promise<void>;
}
