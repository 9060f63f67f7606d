import type { Clock } from "../domain/clock.js";
import { DomainError } from "../domain/domain-error.js";
import { type OutgoingMessage, validateOutgoingMessages } from "../domain/message.js";
import { assertPublisherCanPublish, validatePublisherCode } from "../domain/publisher.js";
import { assertTopicAcceptsMessages, validateTopicCode } from "../domain/topic.js";
import { ignoreQueueEvents, type QueueObserver } from "./queue-observer.js";
import type { MessageToStore, Store } from "./store.js";

export interface PublishCommand {
  /** Publisher code. */
  publisher: string;
  /** Topic code. */
  topic: string;
  messages: OutgoingMessage[];
}

export interface PublishResult {
  /** Message ids in request order; deduplicated messages return the original id. */
  messageIds: bigint[];
  topicId: bigint;
  /** Queue rows created by the fan-out. */
  queuedCount: number;
}

/** Called after a publish commits, so in-process dispatchers can wake at once instead of polling. */
export type PublishedListener = (result: PublishResult, command: PublishCommand) => void;

/**
 * The Publish use case: validates limits, resolves publisher and topic, and in ONE transaction
 * stores the new messages, records their dedup ids and creates one queue row per matching live
 * subscription. A dedup id seen from the same publisher within the window returns the original id.
 */
export class PublishMessages {
  private readonly listeners: PublishedListener[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly dedupWindowMs: number,
    private readonly observer: QueueObserver = ignoreQueueEvents,
  ) {}

  onPublished(listener: PublishedListener): void {
    this.listeners.push(listener);
  }

  async publish(command: PublishCommand): Promise<PublishResult> {
    validatePublisherCode("publisher", command.publisher);
    validateTopicCode("topic", command.topic);
    validateOutgoingMessages(command.messages);
    const publisher = await this.store.repos.publishers.findByCode(command.publisher);
    if (!publisher) throw DomainError.notFound("publisher", command.publisher);
    assertPublisherCanPublish(publisher);
    const topic = await this.store.repos.topics.findByCode(command.topic);
    if (!topic) throw DomainError.notFound("topic", command.topic);
    assertTopicAcceptsMessages(topic);

    let result: PublishResult;
    try {
      result = await this.timedStore(publisher.id, topic.id, command.messages);
    } catch (err) {
      // A concurrent publish of the same dedup_id committed first: a second run finds its row.
      if (!(err instanceof DomainError && err.reason === "DEDUP_RACE")) throw err;
      result = await this.timedStore(publisher.id, topic.id, command.messages);
    }
    for (const listener of this.listeners) listener(result, command);
    return result;
  }

  private async timedStore(
    publisherId: bigint,
    topicId: bigint,
    messages: OutgoingMessage[],
  ): Promise<PublishResult> {
    const startedMs = performance.now();
    try {
      return await this.storeOnce(publisherId, topicId, messages);
    } finally {
      this.observer.publishTransactionFinished(performance.now() - startedMs);
    }
  }

  private storeOnce(
    publisherId: bigint,
    topicId: bigint,
    messages: OutgoingMessage[],
  ): Promise<PublishResult> {
    return this.store.transaction(async (repos) => {
      const nowMs = this.clock.nowMs();
      const dedupIds = messages.map((m) => m.dedupId).filter((id) => id !== "");
      const known = await repos.dedup.findLive(publisherId, dedupIds, nowMs);

      // Which request positions are new messages; repeats inside one request share the first's id.
      const toInsert: MessageToStore[] = [];
      const slotOfNew: number[] = [];
      const firstIndexOfDedup = new Map<string, number>();
      const aliasOf = new Map<number, number>();
      messages.forEach((m, index) => {
        if (m.dedupId !== "") {
          if (known.has(m.dedupId)) return;
          const first = firstIndexOfDedup.get(m.dedupId);
          if (first !== undefined) {
            aliasOf.set(index, first);
            return;
          }
          firstIndexOfDedup.set(m.dedupId, index);
        }
        slotOfNew.push(index);
        toInsert.push({
          topicId,
          publisherId,
          data: m.data,
          attributes: m.attributes,
          orderingKey: m.orderingKey,
          identifier: m.identifier,
          createdAtMs: nowMs,
        });
      });

      const newIds = toInsert.length > 0 ? await repos.messages.insertMany(toInsert) : [];
      const idAt = new Map<number, bigint>();
      for (const [i, slot] of slotOfNew.entries()) idAt.set(slot, newIds[i] as bigint);
      const dedupEntries = [...firstIndexOfDedup].map(([dedupId, index]) => ({
        dedupId,
        messageId: idAt.get(index) as bigint,
      }));
      await repos.dedup.record(publisherId, dedupEntries, nowMs, this.dedupWindowMs);
      const queuedCount = await repos.queue.fanOut(newIds, nowMs);

      const messageIds = messages.map((m, index) => {
        const id =
          (m.dedupId !== "" ? known.get(m.dedupId) : undefined) ?? idAt.get(aliasOf.get(index) ?? index);
        if (id === undefined) throw new Error(`publish: request position ${index} got no message id`);
        return id;
      });
      return { messageIds, topicId, queuedCount };
    });
  }
}
