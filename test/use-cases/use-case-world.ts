/**
 * Shared setup of the use-case tests: a fresh in-memory SQLite store per test, opened and migrated
 * through `openStore` exactly as the server opens it, a FakeClock at NOW_MS that only moves when a
 * test moves it, and one publisher, topic and subscriber to hang subscriptions on. Nothing sleeps:
 * each test drives the use cases step by step and reads the rows back.
 */
import { afterEach, beforeEach } from "vitest";
import { type ClaimOptions, DeliveryService } from "../../src/app/consume/delivery-service.js";
import type { QueueRow } from "../../src/app/ports/queue-repository.js";
import type { Store } from "../../src/app/ports/store.js";
import type { NewSubscription } from "../../src/app/ports/subscription-repository.js";
import { PublishMessages } from "../../src/app/publish/publish-messages.js";
import { FakeClock } from "../../src/domain/clock.js";
import type { OutgoingMessage } from "../../src/domain/message.js";
import type { Publisher } from "../../src/domain/publisher.js";
import type { Subscriber } from "../../src/domain/subscriber.js";
import type { Subscription } from "../../src/domain/subscription.js";
import type { Topic } from "../../src/domain/topic.js";
import { openStore } from "../../src/storage/open-store.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  NOW_MS,
} from "../storage/conformance-setup.js";

export { NOW_MS };

/** The dedup window of the world's Publish use case. */
export const DEDUP_WINDOW_MS = 60_000;

export interface UseCaseWorld {
  store: Store;
  clock: FakeClock;
  publisher: Publisher;
  topic: Topic;
  subscriber: Subscriber;
  publishing: PublishMessages;
  /** Delivery with a fixed jitter (random = 0.5), so retry times are reproducible. */
  delivery: DeliveryService;
}

/** Opens a fresh world before each test and closes its store after it. Returns an accessor. */
export function useWorld(): () => UseCaseWorld {
  let world: UseCaseWorld | undefined;
  beforeEach(async () => {
    const store = await openStore({ databaseUrl: "sqlite::memory:" });
    const clock = new FakeClock(NOW_MS);
    world = {
      store,
      clock,
      publisher: await createPublisher(store),
      topic: await createTopic(store),
      subscriber: await createSubscriber(store),
      publishing: new PublishMessages(store, clock, DEDUP_WINDOW_MS),
      delivery: new DeliveryService(store, clock, () => 0.5),
    };
  });
  afterEach(async () => {
    await world?.store.close();
    world = undefined;
  });
  return () => {
    if (!world) throw new Error("the use-case world exists only inside tests");
    return world;
  };
}

/** A subscription of the world's topic (pull unless told otherwise). */
export function subscribe(
  world: UseCaseWorld,
  fields: Partial<Omit<NewSubscription, "topicId" | "subscriberId">> = {},
): Promise<Subscription> {
  return createSubscription(
    world.store,
    { topicId: world.topic.id, subscriberId: world.subscriber.id, deliveryType: "pull", ...fields },
    world.clock.nowMs(),
  );
}

/** An outgoing message with the given text as data. */
export function outgoing(text: string, fields: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    data: new TextEncoder().encode(text),
    attributes: {},
    orderingKey: "",
    identifier: "",
    dedupId: "",
    ...fields,
  };
}

/** Publishes the messages through the Publish use case and returns their ids. */
export async function publish(world: UseCaseWorld, ...messages: OutgoingMessage[]): Promise<bigint[]> {
  const result = await world.publishing.publish({
    publisher: world.publisher.code,
    topic: world.topic.code,
    messages,
  });
  return result.messageIds;
}

/** Claim options of a pull consumer with a 30 s lease. */
export function pullClaim(overrides: Partial<ClaimOptions> = {}): ClaimOptions {
  return { owner: "use-case-test", method: "pull", max: 10, leaseMs: 30_000, ...overrides };
}

/** The queue row of `messageId` for `subscription` (exactly one expected). */
export async function queueRow(
  world: UseCaseWorld,
  subscription: Subscription,
  messageId: bigint,
): Promise<QueueRow> {
  const rows = (await world.store.repos.queue.listByMessage(messageId)).filter(
    (r) => r.subscriptionId === subscription.id,
  );
  if (rows.length !== 1)
    throw new Error(`expected one queue row of message ${messageId}, got ${rows.length}`);
  return rows[0] as QueueRow;
}

/** Text of a delivered message's data. */
export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}
