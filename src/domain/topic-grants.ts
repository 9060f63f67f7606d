import { DomainError } from "./domain-error.js";
import { validateTopicCode } from "./topic.js";

/** The wildcard entry of `allowed_topics`: every topic, present and future. */
export const ALL_TOPICS = "*";

/** Most topics one publisher may be granted by name (beyond that, grant "*"). */
export const MAX_TOPIC_GRANTS = 1000;

/** Where a publisher's API key may publish: every topic, or the listed topic codes. */
export interface TopicGrants {
  allTopics: boolean;
  /** Topic codes, sorted, without duplicates; empty when `allTopics`. */
  topicCodes: readonly string[];
}

export const NO_TOPICS: TopicGrants = Object.freeze({ allTopics: false, topicCodes: Object.freeze([]) });

/**
 * Validates an `allowed_topics` list: ["*"] alone, or at most MAX_TOPIC_GRANTS valid topic codes
 * (duplicates collapse). Whether the topics exist is checked where they are resolved.
 */
export function parseTopicGrants(field: string, entries: readonly string[]): TopicGrants {
  if (entries.includes(ALL_TOPICS)) {
    if (entries.some((e) => e !== ALL_TOPICS)) {
      throw DomainError.invalid(field, `"${ALL_TOPICS}" (every topic) must be the only entry`);
    }
    return { allTopics: true, topicCodes: [] };
  }
  if (entries.length > MAX_TOPIC_GRANTS) {
    throw DomainError.invalid(field, `must list at most ${MAX_TOPIC_GRANTS} topics (or "${ALL_TOPICS}")`);
  }
  entries.forEach((code, i) => {
    validateTopicCode(`${field}[${i}]`, code);
  });
  return { allTopics: false, topicCodes: [...new Set(entries)].sort() };
}

/** What `allowed_topics` shows for `grants`. */
export function topicGrantEntries(grants: TopicGrants): string[] {
  return grants.allTopics ? [ALL_TOPICS] : [...grants.topicCodes];
}

export function mayPublishTo(grants: TopicGrants, topicCode: string): boolean {
  return grants.allTopics || grants.topicCodes.includes(topicCode);
}
