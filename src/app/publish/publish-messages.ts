import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import { type OutgoingMessage, validateOutgoingMessages } from "../../domain/message.js";
import { assertPublisherCanPublish, type Publisher, validatePublisherCode } from "../../domain/publisher.js";
import { scheduledDeliveryAtMs } from "../../domain/scheduled-delivery.js";
import { assertTopicAcceptsMessages, type Topic, validateTopicCode } from "../../domain/topic.js";
import type { DirectTakers } from "../consume/direct-takers.js";
import { ignoreQueueEvents, type QueueObserver } from "../ports/queue-observer.js";
import { isCommitOutcomeUnknown, type Store } from "../ports/store.js";
import { noTracing, type Tracing } from "../ports/tracing.js";
import { cancelHandoffs, completeHandoffs, type Handoff, planHandoffs } from "./direct-handoff.js";
import { type PublishRequest, type StoredBatch, storePublishBatch } from "./publish-batch.js";
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
  /**
   * Subscriptions of the topic whose new rows all went straight to a waiting consumer of this
   * instance (direct-handoff.ts): nothing is left for their other consumers to claim.
   */
  servedSubscriptionIds: ReadonlySet<bigint>;
}

/** Called after a publish commits, so in-process dispatchers can wake at once instead of polling. */
export type PublishedListener = (result: PublishResult, command: PublishCommand) => void;

/** A group commit's outcome and the instant its rows were written with. */
type StoredRun = StoredBatch & { nowMs: number };

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
    /** Consumers of this instance waiting for work, handed deliveries straight from the commit. */
    private readonly takers?: DirectTakers,
    private readonly tracing: Tracing = noTracing,
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

    const queued = this.queue.add(
      this.tracing.isEnabled
        ? this.traced({ publisherId: publisher.id, topicId: topic.id, messages })
        : { publisherId: publisher.id, topicId: topic.id, messages },
      bytes,
      signal,
    );
    if (!this.draining) void this.drain();
    const { messageIds, servedSubscriptionIds } = await queued;
    const result = { messageIds, topicId: topic.id, servedSubscriptionIds };
    for (const listener of this.listeners) listener(result, command);
    return result;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        // One event-loop turn before taking a batch lets the calls whose requests arrived
        // meanwhile join it. On SQLite a durable commit blocks the event loop for its fsync
        // (~4 ms on this machine's disk): without this turn, each call that arrived during it
        // started a transaction (and an fsync) of its own, and SQLite fell behind at ~500 msg/s.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.queue.take(BATCH_MAX_MESSAGES);
        if (batch.length === 0) continue;
        const requests = batch.map((w) => w.request);
        const handoffs = this.takers ? planHandoffs(this.takers, requests) : [];
        try {
          // A shared transaction's database spans go under its first traced call (and under none
          // when no call is traced), never under whichever call happened to start this loop.
          const scope = batch.find((w) => w.request.traceScope)?.request.traceScope;
          const stored = await this.tracing.resume(scope, () => this.storeWithRetry(requests, handoffs));
          const served = this.handOver(handoffs, requests, stored);
          for (const [i, w] of batch.entries()) {
            w.resolve({ messageIds: stored.messageIds[i] as bigint[], servedSubscriptionIds: served });
          }
        } catch (error) {
          cancelHandoffs(handoffs);
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

  /** With tracing on: each message's trace context to store, and the calling span for the commit's spans. */
  private traced(request: PublishRequest): PublishRequest {
    const contexts = this.tracing.publishContexts(request.messages);
    const scope = this.tracing.capture();
    return {
      ...request,
      messages: request.messages.map((m, i) => {
        const traceContext = contexts[i];
        return traceContext === undefined ? m : { ...m, traceContext };
      }),
      ...(scope ? { traceScope: scope } : {}),
    };
  }

  /**
   * Gives the takers the rows leased for them; leases of takers that ended meanwhile go back for
   * redelivery at once (were that to fail, they expire like any lost lease). Returns the
   * subscriptions fully served: every message of their topic in the batch went to the taker.
   */
  private handOver(
    handoffs: readonly Handoff[],
    requests: readonly PublishRequest[],
    stored: StoredRun,
  ): Set<bigint> {
    const served = new Set<bigint>();
    if (handoffs.length === 0) return served;
    const orphaned = completeHandoffs(handoffs, stored.leases, requests, stored.messageIds, stored.nowMs);
    if (orphaned.length > 0) {
      this.store.repos.deliveries.releaseIfLeased(orphaned, this.clock.nowMs()).catch(() => {});
    }
    handoffs.forEach((handoff, i) => {
      const onTopic = requests
        .filter((r) => r.topicId === handoff.taker.topicId)
        .reduce((n, r) => n + r.messages.length, 0);
      if ((stored.leases[i]?.length ?? 0) === onTopic) served.add(handoff.subscriptionId);
    });
    return served;
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
      await this.tracing
        .resume(w.request.traceScope, () => this.storeWithRetry([w.request], []))
        .then(
          (stored) =>
            w.resolve({ messageIds: stored.messageIds[0] as bigint[], servedSubscriptionIds: new Set() }),
          (e: unknown) => w.reject(e),
        );
    }
  }

  /** One transaction; a concurrent publish of the same dedup_id committing first makes a second run find its row. */
  private async storeWithRetry(requests: PublishRequest[], handoffs: readonly Handoff[]): Promise<StoredRun> {
    try {
      return await this.timedStore(requests, handoffs);
    } catch (err) {
      if (!(err instanceof DomainError && err.reason === "DEDUP_RACE")) throw err;
      return this.timedStore(requests, handoffs);
    }
  }

  private async timedStore(requests: PublishRequest[], handoffs: readonly Handoff[]): Promise<StoredRun> {
    const startedMs = performance.now();
    try {
      return await this.store.transaction(async (repos) => {
        const nowMs = this.clock.nowMs();
        const stored = await storePublishBatch(repos, requests, nowMs, this.dedupWindowMs, handoffs);
        return { ...stored, nowMs };
      });
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
