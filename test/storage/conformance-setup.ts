/**
 * Shared setup of the storage conformance suite: one fresh database per describe block (per target),
 * opened through `openStore` exactly as the server opens it, closed and dropped afterwards, plus
 * small factories for the rows the cases need. Nothing here mocks knex.
 */
import { afterAll, beforeAll, expect } from "vitest";
import type { MessageToStore } from "../../src/app/ports/message-repository.js";
import type { Store } from "../../src/app/ports/store.js";
import type { NewSubscription } from "../../src/app/ports/subscription-repository.js";
import { DomainError, type DomainErrorKind } from "../../src/domain/domain-error.js";
import type { Publisher } from "../../src/domain/publisher.js";
import type { LeaseRef } from "../../src/domain/queue-item.js";
import type { Subscriber } from "../../src/domain/subscriber.js";
import type { Subscription, SubscriptionSettings } from "../../src/domain/subscription.js";
import type { Topic } from "../../src/domain/topic.js";
import { KnexStore } from "../../src/storage/knex-store.js";
import { openStore } from "../../src/storage/open-store.js";
import type { TestDatabase, TestDatabaseTarget } from "../support/test-databases.js";

/** A fixed instant (epoch ms) beyond 2^32, so a truncated column would show. */
export const NOW_MS = 1_717_171_717_123;

/**
 * Opens a fresh database for the enclosing describe block: created and migrated in beforeAll,
 * closed and dropped in afterAll. Returns an accessor, valid inside tests.
 */
export function useConformanceStore(target: TestDatabaseTarget): () => KnexStore {
  let db: TestDatabase | undefined;
  let store: KnexStore | undefined;
  beforeAll(async () => {
    db = await target.create();
    const opened = await openStore({ databaseUrl: db.url });
    if (!(opened instanceof KnexStore)) {
      await opened.close();
      throw new Error("openStore is expected to return a KnexStore");
    }
    store = opened;
  });
  afterAll(async () => {
    try {
      await store?.close();
    } finally {
      await db?.drop();
    }
  });
  return () => {
    if (!store) throw new Error("the conformance store is only open inside tests");
    return store;
  };
}

let sequence = 0;

/** A code/name unique within the test process, so cases sharing a database never collide. */
export function unique(prefix: string): string {
  sequence += 1;
  return `${prefix}-${sequence}`;
}

export function createPublisher(store: Store, code = unique("pub")): Promise<Publisher> {
  return store.repos.publishers.insert({ code, name: `Publisher ${code}`, description: "" }, NOW_MS);
}

export function createTopic(store: Store, code = unique("topic")): Promise<Topic> {
  return store.repos.topics.insert({ code, name: `Topic ${code}`, description: "" }, NOW_MS);
}

export function createSubscriber(
  store: Store,
  fields: { clientId?: bigint; webhookUrl?: string } = {},
): Promise<Subscriber> {
  return store.repos.subscribers.insert(
    {
      clientId: fields.clientId ?? 1n,
      name: unique("subscriber"),
      webhookUrl: fields.webhookUrl ?? "https://hooks.example.com/default",
    },
    "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
    NOW_MS,
  );
}

export function subscriptionSettings(
  overrides: Partial<SubscriptionSettings> = {},
): SubscriptionSettings & { pubsubProject: string } {
  return {
    attributeFilter: "",
    pushPayload: "wrapped",
    deadLetterTopicId: null,
    pubsubProject: "",
    identifierFilter: "",
    pushEndpoint: "",
    ackDeadlineSeconds: 30,
    maxDeliveryAttempts: 5,
    minBackoffMs: 10_000,
    maxBackoffMs: 600_000,
    retryScheduleMs: [],
    oidcServiceAccountEmail: "",
    oidcAudience: "",
    pushRateLimitPerSecond: 0,
    messageTtlMs: 86_400_000,
    enableOrdering: false,
    retainAckedMessages: false,
    enableExactlyOnceDelivery: false,
    ...overrides,
  };
}

export function createSubscription(
  store: Store,
  fields: Pick<NewSubscription, "topicId" | "subscriberId"> & Partial<NewSubscription>,
  nowMs = NOW_MS,
): Promise<Subscription> {
  const { topicId, subscriberId, name, deliveryType, ...settings } = fields;
  return store.repos.subscriptions.insert(
    {
      name: name ?? unique("sub"),
      topicId,
      subscriberId,
      deliveryType: deliveryType ?? "push",
      ...subscriptionSettings(settings),
    },
    nowMs,
  );
}

export function messageToStore(
  topicId: bigint,
  publisherId: bigint,
  overrides: Partial<Omit<MessageToStore, "topicId" | "publisherId">> = {},
): MessageToStore {
  return {
    topicId,
    publisherId,
    identifier: "",
    orderingKey: "",
    data: new Uint8Array([1, 2, 3]),
    attributes: {},
    createdAtMs: NOW_MS,
    ...overrides,
  };
}

/** Awaits `promise` and checks it rejected with a DomainError of that kind and reason. */
export async function expectDomainError(
  promise: Promise<unknown>,
  expected: { kind: DomainErrorKind; reason: string },
): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  const domainError = error as DomainError;
  expect({ kind: domainError.kind, reason: domainError.reason }).toEqual(expected);
  return domainError;
}

/** Inserts `count` rows with `insert` and returns their ids in insertion order. */
export async function insertSeveral(count: number, insert: () => Promise<{ id: bigint }>): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (let i = 0; i < count; i++) ids.push((await insert()).id);
  return ids;
}

/**
 * Leases the queue items as a claim does and returns their leases: how a test brings items to the
 * states only a lease holder may reach (sent, failed, dead-lettered).
 */
export async function leaseItems(
  store: Store,
  ids: readonly bigint[],
  nowMs: number,
  leaseMs = 60_000,
): Promise<LeaseRef[]> {
  return store.transaction(async (repos) => {
    await repos.deliveries.markLeased(
      ids,
      { owner: "test", method: "pull", leaseExpiresAtMs: nowMs + leaseMs },
      nowMs,
    );
    const states = await repos.deliveries.findLeaseStates(ids);
    return states.map((st) => ({ queueId: st.id, leaseToken: st.leaseToken }));
  });
}

/** Leases the queue items and acks them at `nowMs`. */
export async function ackItems(store: Store, ids: readonly bigint[], nowMs: number): Promise<void> {
  const leases = await leaseItems(store, ids, nowMs);
  expect(await store.repos.deliveries.markSentIfLeased(leases, nowMs)).toHaveLength(ids.length);
}

/**
 * Leases the queue items and dead-letters them at `nowMs` (reason MAX_ATTEMPTS), as the delivery
 * path does after the last failed attempt.
 */
export async function deadLetterItems(
  store: Store,
  ids: readonly bigint[],
  nowMs: number,
  attempt: {
    attemptCount: number;
    lastError: string;
    firstAttemptAtMs: number | null;
    lastAttemptAtMs: number | null;
  },
): Promise<void> {
  const leases = await leaseItems(store, ids, nowMs);
  await store.transaction(async (repos) => {
    const won = await repos.deliveries.markDeadLetteredIfLeased(
      leases.map((lease) => ({ lease, nextRetryAtMs: null, ...attempt })),
      nowMs,
    );
    expect(won).toHaveLength(ids.length);
    await repos.deadLetters.insertFromQueue(
      ids.map((queueId) => ({
        queueId,
        failureReason: "MAX_ATTEMPTS" as const,
        lastError: attempt.lastError,
        lastHttpStatus: null,
      })),
      nowMs,
    );
  });
}
