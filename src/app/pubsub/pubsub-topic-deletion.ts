import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import { validateTopicCode } from "../../domain/topic.js";
import { topicRules } from "../admin/admin-rules.js";
import type { Store } from "../ports/store.js";
import type { PublishMessages } from "../publish/publish-messages.js";

/** Longest topic code (the column's width). */
const MAX_CODE_LENGTH = 255;

/** The code a deleted topic moves to: still a valid topic code, unique by the topic's id. */
export function retiredTopicCode(code: string, id: bigint): string {
  const suffix = `.deleted-${id}`;
  return `${code.slice(0, MAX_CODE_LENGTH - suffix.length)}${suffix}`;
}

/**
 * Pub/Sub's DeleteTopic: the topic is gone for publishing and its name is free at once, while
 * subscriptions keep their messages (Pub/Sub detaches them). Herald keeps the rows of a topic in use
 * (messages, subscriptions and their history) by retiring it under another code, deactivated; an
 * unused topic is deleted outright.
 */
export class PubsubTopicDeletion {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly publishing: PublishMessages,
  ) {}

  async delete(code: string): Promise<void> {
    validateTopicCode("topic", code);
    await this.store.transaction(async (repos) => {
      const topic = await repos.topics.findByCode(code);
      if (!topic) throw DomainError.notFound("topic", code);
      try {
        // Herald's own rule for deleting a topic decides whether its rows must be kept.
        await topicRules.assertDeletable(repos, topic);
      } catch (error) {
        if (!(error instanceof DomainError && error.kind === "failed_precondition")) throw error;
        await repos.topics.retire(topic.id, retiredTopicCode(code, topic.id), this.clock.nowMs());
        return;
      }
      await repos.topics.delete(topic.id);
    });
    // This instance publishes to a topic of that name again at once (others within their 1 s cache).
    this.publishing.forgetTopic(code);
  }
}
