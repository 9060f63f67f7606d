/**
 * Storage ports: what the use cases need from a database, and nothing about how. src/storage
 * implements them once with knex for SQLite and MySQL; one conformance suite checks both.
 */

import { DomainError, isDomainError } from "../domain/domain-error.js";
import type { Message, OutgoingMessage } from "../domain/message.js";
import type { NewPublisher, Publisher } from "../domain/publisher.js";
import type { NewSubscriber, Subscriber } from "../domain/subscriber.js";
import type { DeliveryType, Subscription, SubscriptionSettings } from "../domain/subscription.js";
import type { NewTopic, Topic } from "../domain/topic.js";
import type { TopicGrants } from "../domain/topic-grants.js";
import type { ApiKeyRepository } from "./api-key-ports.js";
import type { DeadLetterForwardRepository } from "./dead-letter-forward-ports.js";
import type {
  DeadLetterRepository,
  DeliveryRepository,
  NotificationLogRepository,
} from "./delivery-ports.js";
import type { DeadLetterAdminRepository, InspectionRepository } from "./operations-ports.js";
import type { QueueGaugeRepository } from "./queue-gauges.js";
import type { RetentionRepository } from "./retention-ports.js";

/** Keyset paging: items with id greater than `afterId`, ascending, at most `limit`. */
export interface PageRequest {
  afterId: bigint | null;
  limit: number;
}

/** One page; `lastId` is set when more items may follow. */
export interface Page<T> {
  items: T[];
  lastId: bigint | null;
}

export interface CodedEntityPatch {
  name?: string;
  description?: string;
  isActive?: boolean;
}

export interface PublisherRepository {
  /** Throws ALREADY_EXISTS when the code is taken. */
  insert(publisher: NewPublisher, nowMs: number): Promise<Publisher>;
  findByCode(code: string): Promise<Publisher | undefined>;
  findById(id: bigint): Promise<Publisher | undefined>;
  list(page: PageRequest): Promise<Page<Publisher>>;
  update(id: bigint, patch: PublisherPatch, nowMs: number): Promise<Publisher>;
  delete(id: bigint): Promise<void>;
  hasMessages(id: bigint): Promise<boolean>;
}

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

/** Random keys all instances on one database share, created by whichever instance needs one first. */
export interface InstanceKeyRepository {
  /** The key stored under `name`; stores `candidateBase64` first when there is none (a racing instance's key wins). */
  findOrCreate(name: string, candidateBase64: string, nowMs: number): Promise<string>;
}

export type PublisherPatch = CodedEntityPatch;
export type TopicPatch = CodedEntityPatch;

export interface TopicRepository {
  /** Throws ALREADY_EXISTS when the code is taken. */
  insert(topic: NewTopic, nowMs: number): Promise<Topic>;
  findByCode(code: string): Promise<Topic | undefined>;
  list(page: PageRequest): Promise<Page<Topic>>;
  update(id: bigint, patch: TopicPatch, nowMs: number): Promise<Topic>;
  delete(id: bigint): Promise<void>;
  hasMessages(id: bigint): Promise<boolean>;
  /**
   * Deactivates the topic and moves it to `retiredCode`, freeing its code for a new topic while
   * its messages, subscriptions and history stay (Pub/Sub's DeleteTopic of a topic in use).
   */
  retire(id: bigint, retiredCode: string, nowMs: number): Promise<void>;
}

export interface SubscriberPatch {
  name?: string;
  webhookUrl?: string;
  isActive?: boolean;
}

/** A subscriber's Standard Webhooks signing secrets; during a rotation's overlap both sign. */
export interface SigningKeys {
  current: string;
  previous: string | null;
  previousExpiresAtMs: number | null;
}

export interface SubscriberRepository {
  insert(subscriber: NewSubscriber, signingSecret: string, nowMs: number): Promise<Subscriber>;
  findSigningKeys(id: bigint): Promise<SigningKeys | undefined>;
  /** Makes `secret` current; the old one keeps signing until `previousExpiresAtMs`. */
  rotateSigningSecret(id: bigint, secret: string, previousExpiresAtMs: number, nowMs: number): Promise<void>;
  /** Seals again every signing secret stored plain or under a non-primary key; returns how many rows changed. */
  resealSigningSecrets(): Promise<number>;
  findById(id: bigint): Promise<Subscriber | undefined>;
  /** The oldest subscriber of the client with that name (names are not unique). */
  findByName(clientId: bigint, name: string): Promise<Subscriber | undefined>;
  list(page: PageRequest, filter: { clientId?: bigint }): Promise<Page<Subscriber>>;
  update(id: bigint, patch: SubscriberPatch, nowMs: number): Promise<Subscriber>;
  delete(id: bigint): Promise<void>;
}

export interface NewSubscription extends SubscriptionSettings {
  name: string;
  subscriberId: bigint;
  topicId: bigint;
  deliveryType: DeliveryType;
  pubsubProject: string;
}

export type SubscriptionPatch = Partial<SubscriptionSettings> & { deliveryType?: DeliveryType };

export interface SubscriptionFilter {
  topicId?: bigint;
  subscriberId?: bigint;
  showDeleted?: boolean;
}

export interface SubscriptionRepository {
  /** Throws ALREADY_EXISTS when a live subscription has the name (a deleted one's name may be reused). */
  insert(subscription: NewSubscription, nowMs: number): Promise<Subscription>;
  findByName(name: string): Promise<Subscription | undefined>;
  findById(id: bigint): Promise<Subscription | undefined>;
  list(page: PageRequest, filter: SubscriptionFilter): Promise<Page<Subscription>>;
  update(id: bigint, patch: SubscriptionPatch, nowMs: number): Promise<Subscription>;
  /** Soft delete (the row stays for audit); returns false when it was already deleted. */
  softDelete(id: bigint, nowMs: number): Promise<boolean>;
  /** Number of subscriptions (live or deleted) of a subscriber. */
  countBySubscriber(subscriberId: bigint): Promise<number>;
  /** Number of subscriptions (live or deleted) of a topic. */
  countByTopic(topicId: bigint): Promise<number>;
  /** Messages delivered (acked) on the subscription. */
  countDelivered(id: bigint): Promise<number>;
  /** Live, unpaused PUSH subscriptions whose subscriber is active: what the pusher serves. */
  listPushActive(): Promise<Subscription[]>;
  /** Pauses push delivery with a reason (no-op when already paused); returns whether it changed. */
  pause(id: bigint, reason: string, nowMs: number): Promise<boolean>;
  /** Resumes push delivery and forgets the failing run. */
  resume(id: bigint, nowMs: number): Promise<void>;
  /**
   * Records the outcome of a batch of pushes for endpoint health: a success clears the failing
   * run; a failure starts one if none is running. Returns when the current failing run started.
   */
  recordPushHealth(id: bigint, succeeded: boolean, nowMs: number): Promise<number | null>;
}

/** A message ready to store: validated, with its publisher and topic resolved. */
export interface MessageToStore extends Omit<OutgoingMessage, "dedupId"> {
  topicId: bigint;
  publisherId: bigint;
  createdAtMs: number;
}

export interface MessageRepository {
  /**
   * Inserts the messages in order and returns their ids in the same order. Messages of one
   * ordering key get ids in commit order, across connections and instances: in a transaction,
   * a concurrent insert of the same key waits until this transaction ends.
   */
  insertMany(messages: readonly MessageToStore[]): Promise<bigint[]>;
  findById(id: bigint): Promise<Message | undefined>;
  /** The messages among `ids` that exist, keyed by id. */
  findMany(ids: readonly bigint[]): Promise<Map<bigint, Message>>;
}

export interface DedupRepository {
  /** Live (unexpired at `nowMs`) dedup entries of the publisher among `dedupIds`: dedupId → messageId. */
  findLive(publisherId: bigint, dedupIds: readonly string[], nowMs: number): Promise<Map<string, bigint>>;
  /**
   * Records dedup ids, replacing expired entries. Throws a DomainError with reason
   * DEDUP_RACE when another transaction recorded the same id first (the caller retries).
   */
  record(
    publisherId: bigint,
    entries: readonly { dedupId: string; messageId: bigint }[],
    nowMs: number,
    windowMs: number,
  ): Promise<void>;
}

/** One row of the delivery queue, as stored. */
export interface QueueRow {
  id: bigint;
  subscriptionId: bigint;
  messageId: bigint;
  status: string;
  attemptCount: number;
  expiresAtMs: number;
  sequenceNumber: bigint;
  createdAtMs: number;
}

/** A subscription whose attribute filter Publish evaluates in the application. */
export interface FilteredFanOutTarget {
  subscriptionId: bigint;
  topicId: bigint;
  identifierFilter: string;
  attributeFilter: string;
}

export interface QueueRepository {
  /**
   * Creates one pending row per (message, matching live subscription of the message's topic whose
   * subscriber is active), set-based in SQL. Returns the number of rows created.
   */
  fanOut(messageIds: readonly bigint[], nowMs: number): Promise<number>;
  /** Live subscriptions of the topics that have an attribute filter (left out of `fanOut`). */
  listFilteredTargets(topicIds: readonly bigint[]): Promise<FilteredFanOutTarget[]>;
  /** Pending rows of the messages for one subscription, whose filters the caller has evaluated. */
  fanOutTo(subscriptionId: bigint, messageIds: readonly bigint[], nowMs: number): Promise<number>;
  listByMessage(messageId: bigint): Promise<QueueRow[]>;
}

export interface Repositories {
  apiKeys: ApiKeyRepository;
  deadLetterAdmin: DeadLetterAdminRepository;
  inspection: InspectionRepository;
  deliveries: DeliveryRepository;
  deadLetters: DeadLetterRepository;
  deadLetterForwards: DeadLetterForwardRepository;
  notificationLogs: NotificationLogRepository;
  publishers: PublisherRepository;
  publisherGrants: PublisherGrantRepository;
  instanceKeys: InstanceKeyRepository;
  topics: TopicRepository;
  subscribers: SubscriberRepository;
  subscriptions: SubscriptionRepository;
  messages: MessageRepository;
  dedup: DedupRepository;
  queue: QueueRepository;
  queueGauges: QueueGaugeRepository;
  retention: RetentionRepository;
}

/** The database as the use cases see it. */
export interface Store {
  readonly kind: "sqlite" | "mysql";
  /** Repositories outside any transaction (each call autocommits). */
  readonly repos: Repositories;
  /**
   * Runs `work` in one transaction; retries it (with jitter, a bounded number of times) on
   * deadlocks, lock-wait timeouts and busy errors. `work` must do no network I/O. When `work`
   * finished but the connection failed during the COMMIT, the transaction may or may not be
   * stored: that throws `commitOutcomeUnknown()` and is never retried.
   */
  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** Whether an error means the database is unreachable right now (callers answer UNAVAILABLE). */
  isUnavailable(error: unknown): boolean;
  /** Connections of the pool in use and idle, when the driver exposes them (for metrics). */
  poolStats?(): { used: number; free: number } | undefined;
  close(): Promise<void>;
}

const COMMIT_OUTCOME_UNKNOWN = "COMMIT_OUTCOME_UNKNOWN";

/**
 * The error of a transaction whose COMMIT was sent but whose answer was lost with the connection:
 * it may have been stored. Answered UNAVAILABLE; only a retry with a dedup_id is safe.
 */
export function commitOutcomeUnknown(): DomainError {
  return new DomainError(
    "unavailable",
    COMMIT_OUTCOME_UNKNOWN,
    "the database connection was lost during the commit: the request may or may not have been stored (a Publish retried with the same dedup_id is stored once)",
  );
}

export function isCommitOutcomeUnknown(error: unknown): boolean {
  return isDomainError(error) && error.reason === COMMIT_OUTCOME_UNKNOWN;
}
