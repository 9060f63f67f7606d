import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import { type OutgoingMessage, validateOutgoingMessages } from "../../domain/message.js";
import { assertPublisherCanPublish, type Publisher, validatePublisherCode } from "../../domain/publisher.js";
import { scheduledDeliveryAtMs } from "../../domain/scheduled-delivery.js";
import { assertTopicAcceptsMessages, type Topic, validateTopicCode } from "../../domain/topic.js";
import { ignoreQueueEvents, type QueueObserver } from "../ports/queue-observer.js";
import { isCommitOutcomeUnknown, type Store } from "../ports/store.js";
import { type PublishRequest, storePublishBatch } from "./publish-batch.js";
import {
  DEFAULT_PUBLISH_QUEUE_LIMITS,
  PublishQueue,
  type PublishQueueLimits,
  type QueuedPublish,
} from "./publish-queue.js";

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
}

/** Called after a publish commits, so in-process dispatchers can wake at once instead of polling. */
export type PublishedListener = (result: PublishResult, command: PublishCommand) => void;

/** How long a resolved publisher or topic is trusted; a deactivation reaches Publish within this. */
const LOOKUP_TTL_MS = 1_000;
/** Most messages one group-commit transaction carries. */
const BATCH_MAX_MESSAGES = 5_000;

/**
 * The Publish use case: validates limits, resolves publisher and topic (briefly cached), and
 * stores the messages and their fan-out in ONE transaction. Concurrent Publish calls share a
 * transaction (group commit): while one commits, the next calls queue up and go together, so a
 * stream of small publishes costs one commit per batch instead of one per call. The queue is
 * bounded (PublishQueue) and calls abandoned by their caller leave it before they commit. If a
 * shared transaction fails before its commit, its calls are retried one by one, so one call's
 * failure is never another's — except when the database is unreachable (every call would fail
 * the same way) or the commit itself was lost: then the batch may be stored, and a retry would
 * store its messages twice, so every call answers UNAVAILABLE (COMMIT_OUTCOME_UNKNOWN) instead.
 */
export class PublishMessages {
  private readonly listeners: PublishedListener[] = [];
  private readonly queue: PublishQueue;
  private draining = false;
  private readonly publishers = new Map<string, { value: Publisher; atMs: number }>();
  private readonly topics = new Map<string, { value: Topic; atMs: number }>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly dedupWindowMs: number,
    private readonly observer: QueueObserver = ignoreQueueEvents,
    limits: PublishQueueLimits = DEFAULT_PUBLISH_QUEUE_LIMITS,
  ) {
    this.queue = new PublishQueue(limits);
  }

  onPublished(listener: PublishedListener): void {
    this.listeners.push(listener);
  }

  /** Messages and payload bytes waiting for (or in) a group commit. */
  queued(): { messages: number; bytes: number } {
    return this.queue.held();
  }

  /** Drops the cached lookup of a topic code (it was deleted or now names another topic). */
  forgetTopic(code: string): void {
    this.topics.delete(code);
  }

  /**
   * Publishes `command`. `signal` is the caller's (aborted when it cancels or its deadline
   * passes): a call still waiting for its group commit then leaves the queue uncommitted.
   */
  async publish(command: PublishCommand, signal?: AbortSignal): Promise<PublishResult> {
    validatePublisherCode("publisher", command.publisher);
    validateTopicCode("topic", command.topic);
    const bytes = validateOutgoingMessages(command.messages);
    const messages = withDeliveryTimes(command.messages, this.clock.nowMs());
    const publisher = await this.cached(this.publishers, command.publisher, (code) =>
      this.store.repos.publishers.findByCode(code),
    );
    if (!publisher) throw DomainError.notFound("publisher", command.publisher);
    assertPublisherCanPublish(publisher);
    const topic = await this.cached(this.topics, command.topic, (code) =>
      this.store.repos.topics.findByCode(code),
    );
    if (!topic) throw DomainError.notFound("topic", command.topic);
    assertTopicAcceptsMessages(topic);

    const queued = this.queue.add({ publisherId: publisher.id, topicId: topic.id, messages }, bytes, signal);
    if (!this.draining) void this.drain();
    const messageIds = await queued;
    const result = { messageIds, topicId: topic.id };
    for (const listener of this.listeners) listener(result, command);
    return result;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.take(BATCH_MAX_MESSAGES);
        if (batch.length === 0) continue;
        try {
          const ids = await this.storeWithRetry(batch.map((w) => w.request));
          for (const [i, w] of batch.entries()) w.resolve(ids[i] as bigint[]);
        } catch (error) {
          if (batch.length === 1 || !this.canRetryOneByOne(error)) {
            for (const w of batch) w.reject(error);
            continue;
          }
          await this.storeOneByOne(batch);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * A shared transaction that failed before its commit stored nothing, so its calls can be tried
   * alone. Not when the commit's outcome is unknown (the batch may be stored: a retry would
   * duplicate messages without a dedup_id) nor when the database is unreachable (each retry
   * would wait for a connection only to fail the same way).
   */
  private canRetryOneByOne(error: unknown): boolean {
    return !isCommitOutcomeUnknown(error) && !this.store.isUnavailable(error);
  }

  private async storeOneByOne(batch: readonly QueuedPublish[]): Promise<void> {
    for (const w of batch) {
      await this.storeWithRetry([w.request]).then(
        (ids) => w.resolve(ids[0] as bigint[]),
        (e: unknown) => w.reject(e),
      );
    }
  }

  /** One transaction; a concurrent publish of the same dedup_id committing first makes a second run find its row. */
  private async storeWithRetry(requests: PublishRequest[]): Promise<bigint[][]> {
    try {
      return await this.timedStore(requests);
    } catch (err) {
      if (!(err instanceof DomainError && err.reason === "DEDUP_RACE")) throw err;
      return this.timedStore(requests);
    }
  }

  private async timedStore(requests: PublishRequest[]): Promise<bigint[][]> {
    const startedMs = performance.now();
    try {
      return await this.store.transaction((repos) =>
        storePublishBatch(repos, requests, this.clock.nowMs(), this.dedupWindowMs),
      );
    } finally {
      this.observer.publishTransactionFinished(performance.now() - startedMs);
    }
  }

  private async cached<T>(
    cache: Map<string, { value: T; atMs: number }>,
    code: string,
    load: (code: string) => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const nowMs = this.clock.nowMs();
    const hit = cache.get(code);
    if (hit && nowMs - hit.atMs < LOOKUP_TTL_MS && nowMs >= hit.atMs) return hit.value;
    const value = await load(code);
    if (value === undefined) cache.delete(code);
    else {
      if (cache.size > 10_000) cache.clear();
      cache.set(code, { value, atMs: nowMs });
    }
    return value;
  }
}

/**
 * The messages with their delivery times checked (INVALID_ARGUMENT past 31 days ahead) and a time
 * that is not in the future dropped, so only truly scheduled messages store one.
 */
function withDeliveryTimes(messages: readonly OutgoingMessage[], nowMs: number): OutgoingMessage[] {
  return messages.map((m, i) => {
    if (m.deliverAtMs === undefined) return m;
    const deliverAtMs = scheduledDeliveryAtMs(`messages[${i}].deliver_at`, m.deliverAtMs, nowMs);
    const { deliverAtMs: _asked, ...rest } = m;
    return deliverAtMs === undefined ? rest : { ...rest, deliverAtMs };
  });
}
