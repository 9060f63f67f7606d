import type { Knex } from "knex";
import { PLAIN_SECRETS, type SecretSealer } from "../app/auth/secret-box.js";
import {
  commitOutcomeUnknown,
  type DatabaseNodeState,
  type Repositories,
  type Store,
} from "../app/ports/store.js";
import { type DatabaseHosts, isHostFailure } from "./database-hosts.js";
import type { Dialect } from "./dialect.js";
import { KnexApiKeyRepository } from "./knex-api-key-repository.js";
import { KnexDeadLetterAdminRepository } from "./knex-dead-letter-admin-repository.js";
import { KnexDeadLetterForwardRepository } from "./knex-dead-letter-forward-repository.js";
import { KnexDeadLetterRepository } from "./knex-dead-letter-repository.js";
import { KnexDedupRepository } from "./knex-dedup-repository.js";
import { KnexDeliveryHistoryRepository } from "./knex-delivery-history-repository.js";
import { KnexDeliveryRepository } from "./knex-delivery-repository.js";
import { KnexInspectionRepository } from "./knex-inspection-repository.js";
import { KnexInstanceKeyRepository } from "./knex-instance-key-repository.js";
import { KnexMessageRepository } from "./knex-message-repository.js";
import { KnexNotificationLogRepository } from "./knex-notification-log-repository.js";
import { KnexOidcKeyRepository } from "./knex-oidc-key-repository.js";
import { KnexPublisherGrantRepository } from "./knex-publisher-grant-repository.js";
import { KnexPublisherRepository } from "./knex-publisher-repository.js";
import { KnexPushRateSlotRepository } from "./knex-push-rate-slot-repository.js";
import { KnexQueueGaugeRepository } from "./knex-queue-gauge-repository.js";
import { KnexQueueRepository } from "./knex-queue-repository.js";
import { KnexReplayRepository } from "./knex-replay-repository.js";
import { KnexRetentionRepository } from "./knex-retention-repository.js";
import { KnexSnapshotRepository } from "./knex-snapshot-repository.js";
import { KnexSubscriberRepository } from "./knex-subscriber-repository.js";
import { KnexSubscriptionRepository } from "./knex-subscription-repository.js";
import { KnexTopicRepository } from "./knex-topic-repository.js";

const MAX_TRANSACTION_ATTEMPTS = 4;

function repositoriesOn(db: Knex | Knex.Transaction, dialect: Dialect, secrets: SecretSealer): Repositories {
  return {
    publishers: new KnexPublisherRepository(db, dialect),
    publisherGrants: new KnexPublisherGrantRepository(db),
    instanceKeys: new KnexInstanceKeyRepository(db),
    topics: new KnexTopicRepository(db, dialect),
    subscribers: new KnexSubscriberRepository(db, secrets),
    subscriptions: new KnexSubscriptionRepository(db, dialect, secrets),
    oidcKeys: new KnexOidcKeyRepository(db, secrets),
    pushRateSlots: new KnexPushRateSlotRepository(db),
    messages: new KnexMessageRepository(db, dialect),
    dedup: new KnexDedupRepository(db, dialect),
    queue: new KnexQueueRepository(db, dialect),
    queueGauges: new KnexQueueGaugeRepository(db),
    retention: new KnexRetentionRepository(db),
    replay: new KnexReplayRepository(db, dialect),
    snapshots: new KnexSnapshotRepository(db, dialect),
    deliveries: new KnexDeliveryRepository(db, dialect),
    deadLetters: new KnexDeadLetterRepository(db),
    deadLetterForwards: new KnexDeadLetterForwardRepository(db),
    deadLetterAdmin: new KnexDeadLetterAdminRepository(db, dialect),
    apiKeys: new KnexApiKeyRepository(db),
    inspection: new KnexInspectionRepository(db),
    deliveryHistory: new KnexDeliveryHistoryRepository(db),
    notificationLogs: new KnexNotificationLogRepository(db),
  };
}

/** The Store port on knex; the same code serves SQLite and MySQL through the Dialect. */
export class KnexStore implements Store {
  readonly repos: Repositories;
  readonly kind: "sqlite" | "mysql";

  constructor(
    readonly knex: Knex,
    readonly dialect: Dialect,
    private readonly secrets: SecretSealer = PLAIN_SECRETS,
    private readonly hosts?: DatabaseHosts,
  ) {
    this.repos = repositoriesOn(knex, dialect, secrets);
    this.kind = dialect.name;
  }

  async transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      // Set once `work` resolved: a failure after that is the COMMIT's.
      let isCommitting = false;
      try {
        return await this.knex.transaction(async (trx) => {
          const result = await work(repositoriesOn(trx, this.dialect, this.secrets));
          isCommitting = true;
          return result;
        });
      } catch (err) {
        if (isCommitting && this.isUnavailable(err)) throw commitOutcomeUnknown();
        // The node failed before COMMIT was sent (nothing stored): DatabaseHosts has moved on, try there.
        const isFailover = (this.hosts?.hosts.length ?? 0) > 1 && isHostFailure(err);
        if (attempt >= MAX_TRANSACTION_ATTEMPTS || !(this.dialect.isRetryable(err) || isFailover)) throw err;
        // Deadlock or lock-wait victim: back off with jitter so the contenders do not collide again.
        await new Promise((resolve) => setTimeout(resolve, 5 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  isUnavailable(error: unknown): boolean {
    // knex's pool gives up with a KnexTimeoutError when no connection can be had in time.
    if (error instanceof Error && error.name === "KnexTimeoutError") return true;
    // Drivers wrap the socket error in `cause`; look a few levels down (bounded, in case of a cycle).
    let e: unknown = error;
    for (let depth = 0; depth < 5 && typeof e === "object" && e !== null; depth++) {
      if (this.dialect.isConnectionError(e)) return true;
      e = (e as { cause?: unknown }).cause;
    }
    return false;
  }

  async ping(): Promise<void> {
    await this.knex.raw("SELECT 1");
  }

  /** The MySQL node in use and whether it is in the primary component; undefined on SQLite. */
  databaseNode(): DatabaseNodeState | undefined {
    return this.hosts?.state();
  }

  /** knex's (tarn) pool: connections in use and idle; undefined once the pool is destroyed. */
  poolStats(): { used: number; free: number } | undefined {
    const pool = (this.knex.client as { pool?: { numUsed(): number; numFree(): number } | null }).pool;
    return pool ? { used: pool.numUsed(), free: pool.numFree() } : undefined;
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }
}
