/**
 * Conformance of the storage the google.pubsub.v1 compatibility API added, on every test database:
 * fan-out around attribute filters, the dead-letter forwarding outbox, and DeadLetterForwarding
 * publishing through a real PublishMessages.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  DEAD_LETTER_ATTRIBUTES,
  DeadLetterForwarding,
} from "../../src/app/dead-letters/dead-letter-forwarding.js";
import type { Store } from "../../src/app/ports/store.js";
import { PublishMessages } from "../../src/app/publish/publish-messages.js";
import { PubsubIdentities } from "../../src/app/pubsub/pubsub-identities.js";
import { FakeClock } from "../../src/domain/clock.js";
import type { Subscription } from "../../src/domain/subscription.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  leaseItems,
  messageToStore,
  NOW_MS,
  unique,
  useConformanceStore,
} from "./conformance-setup.js";

const FANOUT_AT_MS = NOW_MS + 500;
const DEAD_AT_MS = NOW_MS + 60_000;
const FILTER = 'attributes.region = "eu"';
const DEDUP_WINDOW_MS = 10 * 60_000;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "pubsub compatibility storage on %s",
  (_kind, target) => {
    const store = useConformanceStore(target);

    describe("fan-out with attribute filters", () => {
      it("leaves subscriptions with an attribute filter out of fanOut", async () => {
        const s = store();
        const topic = await createTopic(s);
        const publisher = await createPublisher(s);
        const subscriber = await createSubscriber(s);
        const plain = await createSubscription(s, { topicId: topic.id, subscriberId: subscriber.id });
        await createSubscription(s, {
          topicId: topic.id,
          subscriberId: subscriber.id,
          attributeFilter: FILTER,
        });
        const [messageId] = await s.repos.messages.insertMany([
          messageToStore(topic.id, publisher.id, { attributes: { region: "eu" } }),
        ]);
        expect(await s.repos.queue.fanOut([messageId as bigint], FANOUT_AT_MS)).toBe(1);
        const rows = await s.repos.queue.listByMessage(messageId as bigint);
        expect(rows.map((r) => r.subscriptionId)).toEqual([plain.id]);
      });

      it("lists exactly the live, active, filtered subscriptions of the topics asked for", async () => {
        const s = store();
        const topic = await createTopic(s);
        const secondTopic = await createTopic(s);
        const otherTopic = await createTopic(s);
        const subscriber = await createSubscriber(s);
        const inactiveSubscriber = await createSubscriber(s);
        await s.repos.subscribers.update(inactiveSubscriber.id, { isActive: false }, NOW_MS);
        const subscribe = (fields: { topicId?: bigint; subscriberId?: bigint; attributeFilter?: string }) =>
          createSubscription(s, {
            topicId: fields.topicId ?? topic.id,
            subscriberId: fields.subscriberId ?? subscriber.id,
            attributeFilter: fields.attributeFilter ?? FILTER,
            identifierFilter: "user-*",
          });

        const filtered = await subscribe({});
        const onSecondTopic = await subscribe({ topicId: secondTopic.id, attributeFilter: "attributes:k" });
        await subscribe({ attributeFilter: "" });
        const deleted = await subscribe({});
        await s.repos.subscriptions.softDelete(deleted.id, NOW_MS);
        await subscribe({ subscriberId: inactiveSubscriber.id });
        const inactive = await subscribe({});
        // A subscription switched off without being deleted (no repository method does that alone).
        await (s as KnexStore)
          .knex("subscriptions")
          .where("id", String(inactive.id))
          .update({ is_active: 0 });
        await subscribe({ topicId: otherTopic.id });

        expect(await s.repos.queue.listFilteredTargets([topic.id, secondTopic.id])).toEqual([
          {
            subscriptionId: filtered.id,
            topicId: topic.id,
            identifierFilter: "user-*",
            attributeFilter: FILTER,
          },
          {
            subscriptionId: onSecondTopic.id,
            topicId: secondTopic.id,
            identifierFilter: "user-*",
            attributeFilter: "attributes:k",
          },
        ]);
        expect(await s.repos.queue.listFilteredTargets([])).toEqual([]);
      });

      it("creates pending rows for one subscription with fanOutTo", async () => {
        const s = store();
        const topic = await createTopic(s);
        const publisher = await createPublisher(s);
        const subscriber = await createSubscriber(s);
        const sub = await createSubscription(s, {
          topicId: topic.id,
          subscriberId: subscriber.id,
          attributeFilter: FILTER,
          messageTtlMs: 120_000,
        });
        const ids = await s.repos.messages.insertMany([
          messageToStore(topic.id, publisher.id, { createdAtMs: NOW_MS }),
          messageToStore(topic.id, publisher.id, { createdAtMs: NOW_MS + 10 }),
        ]);
        expect(await s.repos.queue.fanOutTo(sub.id, ids, FANOUT_AT_MS)).toBe(2);
        for (const [i, messageId] of ids.entries()) {
          const rows = await s.repos.queue.listByMessage(messageId);
          expect(rows.map(({ id: _id, ...row }) => row)).toEqual([
            {
              subscriptionId: sub.id,
              messageId,
              status: "pending",
              attemptCount: 0,
              expiresAtMs: NOW_MS + 10 * i + 120_000,
              sequenceNumber: messageId,
              createdAtMs: FANOUT_AT_MS,
            },
          ]);
        }
        expect(await s.repos.queue.fanOutTo(sub.id, [], FANOUT_AT_MS)).toBe(0);
      });
    });

    /** A subscription with one message, its queue item dead-lettered after `attemptCount` attempts. */
    async function deadLetterOne(
      fields: { deadLetterTopicId?: bigint | null; pubsubProject?: string; attemptCount?: number } = {},
      message: { attributes?: Record<string, string>; data?: Uint8Array; orderingKey?: string } = {},
    ) {
      const s = store();
      const topic = await createTopic(s);
      const publisher = await createPublisher(s);
      const subscriber = await createSubscriber(s);
      const subscription = await createSubscription(s, {
        topicId: topic.id,
        subscriberId: subscriber.id,
        deliveryType: "pull",
        deadLetterTopicId: fields.deadLetterTopicId ?? null,
        pubsubProject: fields.pubsubProject ?? "",
      });
      const [messageId] = await s.repos.messages.insertMany([
        messageToStore(topic.id, publisher.id, message),
      ]);
      await s.repos.queue.fanOut([messageId as bigint], FANOUT_AT_MS);
      const [row] = await s.repos.queue.listByMessage(messageId as bigint);
      const queueId = (row as { id: bigint }).id;
      const attemptCount = fields.attemptCount ?? 5;
      const [lease] = await leaseItems(s, [queueId], NOW_MS);
      if (!lease) throw new Error("expected a lease");
      await s.transaction(async (repos) => {
        await repos.deliveries.markDeadLetteredIfLeased(
          [
            {
              lease,
              nextRetryAtMs: null,
              attemptCount,
              lastError: "nacked",
              firstAttemptAtMs: NOW_MS + 1_000,
              lastAttemptAtMs: NOW_MS + 2_000,
            },
          ],
          DEAD_AT_MS,
        );
        await repos.deadLetters.insertFromQueue(
          [{ queueId, failureReason: "MAX_ATTEMPTS", lastError: "nacked", lastHttpStatus: null }],
          DEAD_AT_MS,
        );
      });
      const [deadLetter] = await s.repos.deadLetters.listBySubscription(subscription.id);
      return {
        subscription,
        messageId: messageId as bigint,
        queueId,
        deadLetterId: (deadLetter as { id: bigint }).id,
      };
    }

    describe("dead-letter forwarding outbox", () => {
      beforeEach(async () => {
        await store().knex("dead_letter_forwards").delete();
      });

      it("writes one forward for a dead letter of a subscription with a dead-letter topic", async () => {
        const deadTopic = await createTopic(store());
        const { subscription, messageId, deadLetterId } = await deadLetterOne({
          deadLetterTopicId: deadTopic.id,
          pubsubProject: "my-project",
          attemptCount: 7,
        });
        expect(await store().repos.deadLetterForwards.listPending(10)).toEqual([
          {
            deadLetterId,
            messageId,
            attemptCount: 7,
            subscriptionName: subscription.name,
            pubsubProject: "my-project",
            deadLetterTopicCode: deadTopic.code,
            dedupToken: expect.stringMatching(/^[0-9a-f]{32}$/),
          },
        ]);
      });

      it("writes no forward for a subscription without a dead-letter topic", async () => {
        const { subscription } = await deadLetterOne({ deadLetterTopicId: null });
        expect(await store().repos.deadLetters.listBySubscription(subscription.id)).toHaveLength(1);
        expect(await store().repos.deadLetterForwards.listPending(10)).toEqual([]);
      });

      it("lists the oldest forwards first, at most `limit`, and deletes the ones given", async () => {
        const deadTopic = await createTopic(store());
        const first = await deadLetterOne({ deadLetterTopicId: deadTopic.id });
        const second = await deadLetterOne({ deadLetterTopicId: deadTopic.id });
        const third = await deadLetterOne({ deadLetterTopicId: deadTopic.id });
        const pendingIds = async (limit: number) =>
          (await store().repos.deadLetterForwards.listPending(limit)).map((f) => f.deadLetterId);
        expect(await pendingIds(2)).toEqual([first.deadLetterId, second.deadLetterId]);
        await store().repos.deadLetterForwards.delete([first.deadLetterId, third.deadLetterId]);
        expect(await pendingIds(10)).toEqual([second.deadLetterId]);
        await store().repos.deadLetterForwards.delete([]);
        expect(await pendingIds(10)).toEqual([second.deadLetterId]);
      });

      it("does nothing for an empty insertFromQueue, in or outside a transaction", async () => {
        const deadTopic = await createTopic(store());
        const { deadLetterId } = await deadLetterOne({ deadLetterTopicId: deadTopic.id });
        await store().repos.deadLetters.insertFromQueue([], DEAD_AT_MS);
        await store().transaction((repos) => repos.deadLetters.insertFromQueue([], DEAD_AT_MS));
        expect((await store().repos.deadLetterForwards.listPending(10)).map((f) => f.deadLetterId)).toEqual([
          deadLetterId,
        ]);
      });
    });

    describe("DeadLetterForwarding", () => {
      let clock: FakeClock;
      let forwarding: DeadLetterForwarding;
      let publisherCode: string;

      beforeEach(async () => {
        await store().knex("dead_letter_forwards").delete();
        clock = new FakeClock(DEAD_AT_MS + 1_000);
        publisherCode = unique("pubsub-api");
        const s: Store = store();
        forwarding = new DeadLetterForwarding(
          s,
          new PublishMessages(s, clock, DEDUP_WINDOW_MS),
          new PubsubIdentities(s, clock, publisherCode),
        );
      });

      /** Messages stored on a topic, oldest first. */
      async function messagesOn(topicId: bigint) {
        const rows = (await store()
          .knex("messages")
          .where("topic_id", String(topicId))
          .orderBy("id")
          .select("id")) as { id: unknown }[];
        const ids = rows.map((r) => BigInt(String(r.id)));
        const found = await store().repos.messages.findMany(ids);
        return ids.map((id) => found.get(id));
      }

      async function forwardedSubscription(): Promise<{
        subscription: Subscription;
        deadLetterId: bigint;
        deadTopicId: bigint;
      }> {
        const deadTopic = await createTopic(store());
        const dead = await deadLetterOne(
          { deadLetterTopicId: deadTopic.id, pubsubProject: "my-project", attemptCount: 6 },
          {
            attributes: { region: "eu" },
            data: new Uint8Array([9, 8, 7]),
            orderingKey: "k-1",
          },
        );
        return {
          subscription: dead.subscription,
          deadLetterId: dead.deadLetterId,
          deadTopicId: deadTopic.id,
        };
      }

      it("publishes the dead letter to its dead-letter topic with Pub/Sub's attributes and empties the outbox", async () => {
        const { subscription, deadTopicId } = await forwardedSubscription();
        expect(await forwarding.forwardBatch()).toEqual({ forwarded: 1, dropped: [] });

        const forwarded = await messagesOn(deadTopicId);
        expect(forwarded).toHaveLength(1);
        expect(Array.from(forwarded[0]?.data ?? [])).toEqual([9, 8, 7]);
        expect(forwarded[0]).toMatchObject({
          orderingKey: "k-1",
          createdAtMs: clock.nowMs(),
          attributes: {
            region: "eu",
            [DEAD_LETTER_ATTRIBUTES.deliveryCount]: "6",
            [DEAD_LETTER_ATTRIBUTES.subscription]: subscription.name,
            [DEAD_LETTER_ATTRIBUTES.project]: "my-project",
            [DEAD_LETTER_ATTRIBUTES.publishTime]: new Date(NOW_MS).toISOString(),
          },
        });
        expect(Object.keys(forwarded[0]?.attributes ?? {})).toHaveLength(5);
        expect(await store().repos.deadLetterForwards.listPending(10)).toEqual([]);
        // The compatibility publisher was created on first use.
        expect(await store().repos.publishers.findByCode(publisherCode)).toBeDefined();
      });

      it("publishes nothing new when run again, even if the forward is still in the outbox", async () => {
        const { deadLetterId, deadTopicId } = await forwardedSubscription();
        const [pending] = await store().repos.deadLetterForwards.listPending(10);
        await forwarding.forwardBatch();
        expect(await forwarding.forwardBatch()).toEqual({ forwarded: 0, dropped: [] });
        const [stored] = await messagesOn(deadTopicId);

        // A crash between publish and outbox delete leaves the forward behind: its dedup id holds.
        await store()
          .knex("dead_letter_forwards")
          .insert({
            dead_letter_id: String(deadLetterId),
            topic_id: String(deadTopicId),
            created_at_ms: NOW_MS,
            dedup_token: pending?.dedupToken,
          });
        clock.advanceMs(60_000);
        await forwarding.forwardBatch();
        expect((await messagesOn(deadTopicId)).map((m) => m?.id)).toEqual([stored?.id]);
        expect(await store().repos.deadLetterForwards.listPending(10)).toEqual([]);
      });

      it("forwards even when the old guessable dedup id was claimed in advance by the same publisher", async () => {
        const { deadLetterId, deadTopicId } = await forwardedSubscription();
        const decoy = await createTopic(store());
        await new PublishMessages(store(), clock, DEDUP_WINDOW_MS).publish({
          publisher: await new PubsubIdentities(store(), clock, publisherCode).publisher(),
          topic: decoy.code,
          messages: [
            {
              data: new Uint8Array([1]),
              attributes: {},
              orderingKey: "",
              identifier: "",
              dedupId: `herald-dead-letter-${deadLetterId}`,
            },
          ],
        });
        expect(await forwarding.forwardBatch()).toEqual({ forwarded: 1, dropped: [] });
        expect(await messagesOn(deadTopicId)).toHaveLength(1);
      });

      it("gives every forward its own random token, unrelated to the dead letter's id", async () => {
        await forwardedSubscription();
        await forwardedSubscription();
        const tokens = (await store().repos.deadLetterForwards.listPending(10)).map((f) => f.dedupToken);
        expect(new Set(tokens).size).toBe(2);
      });

      it("drops a forward whose dead-letter topic was deactivated instead of retrying it", async () => {
        const { deadLetterId, deadTopicId } = await forwardedSubscription();
        await store().repos.topics.update(deadTopicId, { isActive: false }, NOW_MS);
        const outcome = await forwarding.forwardBatch();
        expect(outcome.forwarded).toBe(0);
        expect(outcome.dropped).toEqual([{ deadLetterId, reason: expect.stringContaining("inactive") }]);
        expect(await messagesOn(deadTopicId)).toEqual([]);
        expect(await store().repos.deadLetterForwards.listPending(10)).toEqual([]);
        expect(await forwarding.forwardBatch()).toEqual({ forwarded: 0, dropped: [] });
      });

      it("forwards the rest of a batch when one forward is dropped", async () => {
        const dropped = await forwardedSubscription();
        const kept = await forwardedSubscription();
        await store().repos.topics.update(dropped.deadTopicId, { isActive: false }, NOW_MS);
        const outcome = await forwarding.forwardBatch();
        expect(outcome.forwarded).toBe(1);
        expect(outcome.dropped.map((d) => d.deadLetterId)).toEqual([dropped.deadLetterId]);
        expect(await messagesOn(kept.deadTopicId)).toHaveLength(1);
        expect(await store().repos.deadLetterForwards.listPending(10)).toEqual([]);
      });
    });
  },
);
