/**
 * Storage ports: what the use cases need from a database, and nothing about how. src/storage
 * implements them once with knex for SQLite and MySQL; one conformance suite checks both.
 */

import { DomainError, isDomainError } from "../../domain/domain-error.js";
import type { ApiKeyRepository } from "./api-key-repository.js";
import type { DeadLetterAdminRepository } from "./dead-letter-admin-repository.js";
import type { DeadLetterForwardRepository } from "./dead-letter-forward-repository.js";
import type { DeadLetterRepository } from "./dead-letter-repository.js";
import type { DedupRepository } from "./dedup-repository.js";
import type { DeliveryHistoryRepository } from "./delivery-history-repository.js";
import type { DeliveryRepository } from "./delivery-repository.js";
import type { InspectionRepository } from "./inspection-repository.js";
import type { InstanceKeyRepository } from "./instance-key-repository.js";
import type { MessageRepository } from "./message-repository.js";
import type { NotificationLogRepository } from "./notification-log-repository.js";
import type { OidcKeyRepository } from "./oidc-key-repository.js";
import type { PublisherGrantRepository } from "./publisher-grant-repository.js";
import type { PublisherRepository } from "./publisher-repository.js";
import type { PushRateSlotRepository } from "./push-rate-slot-repository.js";
import type { QueueGaugeRepository } from "./queue-gauge-repository.js";
import type { QueueRepository } from "./queue-repository.js";
import type { ReplayRepository } from "./replay-repository.js";
import type { RetentionRepository } from "./retention-repository.js";
import type { SnapshotRepository } from "./snapshot-repository.js";
import type { SubscriberRepository } from "./subscriber-repository.js";
import type { SubscriptionRepository } from "./subscription-repository.js";
import type { TopicRepository } from "./topic-repository.js";

export interface Repositories {
  apiKeys: ApiKeyRepository;
  deadLetterAdmin: DeadLetterAdminRepository;
  inspection: InspectionRepository;
  deliveries: DeliveryRepository;
  deliveryHistory: DeliveryHistoryRepository;
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
  replay: ReplayRepository;
  snapshots: SnapshotRepository;
  oidcKeys: OidcKeyRepository;
  pushRateSlots: PushRateSlotRepository;
}

/** The MySQL server (a cluster node) an instance uses, for health and metrics. */
export interface DatabaseNodeState {
  /** `host:port` new connections go to (the first of DATABASE_URL's hosts that works). */
  address: string;
  /**
   * Whether the node last said it is in the primary component and ready (Galera); undefined
   * without Galera, or while no connection to the node has been made since it was chosen.
   */
  isPrimary: boolean | undefined;
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
  /** The MySQL node in use (several DATABASE_URL hosts: the one failed over to); undefined on SQLite. */
  databaseNode?(): DatabaseNodeState | undefined;
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
