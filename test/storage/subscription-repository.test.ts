/** Conformance of SubscriptionRepository on every test database. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretBox } from "../../src/app/auth/secret-box.js";
import type { SubscriptionFilter } from "../../src/app/ports/subscription-repository.js";
import { KnexSubscriptionRepository } from "../../src/storage/knex-subscription-repository.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  expectDomainError,
  messageToStore,
  NOW_MS,
  subscriptionSettings,
  unique,
  useConformanceStore,
} from "./conformance-setup.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "subscriptions on %s",
  (_kind, target) => {
    const store = useConformanceStore(target);

    it("inserts a subscription and finds it by name and by id with every field", async () => {
      const topic = await createTopic(store());
      const subscriber = await createSubscriber(store(), {
        webhookUrl: "https://subscriber.example.com/hook",
      });
      const name = unique("orders-audit");
      const deadLetterTopic = await createTopic(store());
      const inserted = await store().repos.subscriptions.insert(
        {
          name,
          topicId: topic.id,
          subscriberId: subscriber.id,
          deliveryType: "push",
          identifierFilter: "user-* ✓",
          pushEndpoint: "https://override.example.com/push",
          ackDeadlineSeconds: 45,
          maxDeliveryAttempts: 7,
          minBackoffMs: 1_500,
          maxBackoffMs: 3_600_000,
          retryScheduleMs: [0, 5_000, 86_400_000],
          oidcServiceAccountEmail: "pusher@example.iam",
          oidcAudience: "https://receiver.example",
          pushRateLimitPerSecond: 40,
          messageTtlMs: 2_678_400_000,
          enableOrdering: true,
          retainAckedMessages: true,
          enableExactlyOnceDelivery: false,
          attributeFilter: 'attributes.region = "eu"',
          pushPayload: "unwrapped_metadata",
          deadLetterTopicId: deadLetterTopic.id,
          pubsubProject: "my-project",
        },
        NOW_MS,
      );
      expect(inserted).toEqual({
        id: inserted.id,
        name,
        subscriberId: subscriber.id,
        topicId: topic.id,
        topicCode: topic.code,
        identifierFilter: "user-* ✓",
        deliveryType: "push",
        pushEndpoint: "https://override.example.com/push",
        ackDeadlineSeconds: 45,
        maxDeliveryAttempts: 7,
        minBackoffMs: 1_500,
        maxBackoffMs: 3_600_000,
        retryScheduleMs: [0, 5_000, 86_400_000],
        oidcServiceAccountEmail: "pusher@example.iam",
        oidcAudience: "https://receiver.example",
        pushRateLimitPerSecond: 40,
        messageTtlMs: 2_678_400_000,
        enableOrdering: true,
        isActive: true,
        createdAtMs: NOW_MS,
        updatedAtMs: NOW_MS,
        deletedAtMs: null,
        pausedAtMs: null,
        pauseReason: null,
        pushFailingSinceMs: null,
        lastPushSuccessAtMs: null,
        callbackUrl: "https://override.example.com/push",
        attributeFilter: 'attributes.region = "eu"',
        pushPayload: "unwrapped_metadata",
        deadLetterTopicId: deadLetterTopic.id,
        deadLetterTopicCode: deadLetterTopic.code,
        pubsubProject: "my-project",
        retainAckedMessages: true,
        enableExactlyOnceDelivery: false,
        pushHeaderNames: [],
      });
      expect(await store().repos.subscriptions.findByName(name)).toEqual(inserted);
      expect(await store().repos.subscriptions.findById(inserted.id)).toEqual(inserted);
    });

    it("keeps static push headers sealed: names shown, values only through findPushHeaders", async () => {
      const topic = await createTopic(store());
      const subscriber = await createSubscriber(store());
      const key = randomBytes(32);
      const sealed = new KnexSubscriptionRepository(store().knex, store().dialect, new SecretBox([key]));
      const sub = await sealed.insert(
        {
          ...subscriptionSettings(),
          name: unique("headers"),
          topicId: topic.id,
          subscriberId: subscriber.id,
          deliveryType: "push",
          pushHeaders: { Authorization: "Bearer gateway-token-1", "X-Tenant": "acme" },
        },
        NOW_MS,
      );
      expect(sub.pushHeaderNames).toEqual(["authorization", "x-tenant"]);
      expect(await sealed.findPushHeaders(sub.id)).toEqual({
        authorization: "Bearer gateway-token-1",
        "x-tenant": "acme",
      });
      const raw = await store().knex("subscriptions").where({ id: sub.id.toString() }).first();
      expect(JSON.stringify(raw, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(
        "gateway-token-1",
      );
      // Key rotation: with a new first key the start-up reseal moves the set under it.
      const newKey = randomBytes(32);
      const both = new KnexSubscriptionRepository(
        store().knex,
        store().dialect,
        new SecretBox([newKey, key]),
      );
      expect(await both.resealPushHeaders()).toBeGreaterThanOrEqual(1);
      const onlyNew = new KnexSubscriptionRepository(store().knex, store().dialect, new SecretBox([newKey]));
      expect((await onlyNew.findPushHeaders(sub.id))["x-tenant"]).toBe("acme");
      const replaced = await sealed.update(sub.id, { pushHeaders: { "x-api-key": "k2" } }, NOW_MS + 1);
      expect(replaced.pushHeaderNames).toEqual(["x-api-key"]);
      expect(await sealed.findPushHeaders(sub.id)).toEqual({ "x-api-key": "k2" });
      const cleared = await sealed.update(sub.id, { pushHeaders: {} }, NOW_MS + 2);
      expect(cleared.pushHeaderNames).toEqual([]);
      expect(await sealed.findPushHeaders(sub.id)).toEqual({});
    });

    it("stores a pull subscription with ordering disabled", async () => {
      const topic = await createTopic(store());
      const subscriber = await createSubscriber(store(), { webhookUrl: "" });
      const pull = await createSubscription(store(), {
        topicId: topic.id,
        subscriberId: subscriber.id,
        deliveryType: "pull",
        enableOrdering: false,
      });
      const found = await store().repos.subscriptions.findById(pull.id);
      expect(found?.deliveryType).toBe("pull");
      expect(found?.enableOrdering).toBe(false);
      expect(found?.callbackUrl).toBe("");
    });

    it("uses the subscriber's webhook URL as callbackUrl when the push endpoint is empty", async () => {
      const topic = await createTopic(store());
      const subscriber = await createSubscriber(store(), { webhookUrl: "https://subscriber.example.com/a" });
      const sub = await createSubscription(store(), { topicId: topic.id, subscriberId: subscriber.id });
      expect(sub.pushEndpoint).toBe("");
      expect(sub.callbackUrl).toBe("https://subscriber.example.com/a");
      // The callback URL is read through the subscriber, so a webhook change shows at once.
      await store().repos.subscribers.update(
        subscriber.id,
        { webhookUrl: "https://moved.example.com/b" },
        NOW_MS + 1,
      );
      expect((await store().repos.subscriptions.findById(sub.id))?.callbackUrl).toBe(
        "https://moved.example.com/b",
      );
      const overridden = await store().repos.subscriptions.update(
        sub.id,
        { pushEndpoint: "https://own.example.com/c" },
        NOW_MS + 2,
      );
      expect(overridden.callbackUrl).toBe("https://own.example.com/c");
    });

    it("returns undefined for an unknown name or id", async () => {
      expect(await store().repos.subscriptions.findByName(unique("missing"))).toBeUndefined();
      expect(await store().repos.subscriptions.findById(987_654_321n)).toBeUndefined();
    });

    it("throws ALREADY_EXISTS on a live duplicate name; a deleted subscription's name is free again", async () => {
      const topic = await createTopic(store());
      const subscriber = await createSubscriber(store());
      const live = await createSubscription(store(), { topicId: topic.id, subscriberId: subscriber.id });
      const expected = { kind: "already_exists", reason: "SUBSCRIPTION_ALREADY_EXISTS" } as const;
      await expectDomainError(
        createSubscription(store(), { name: live.name, topicId: topic.id, subscriberId: subscriber.id }),
        expected,
      );
      const deleted = await createSubscription(store(), { topicId: topic.id, subscriberId: subscriber.id });
      expect(await store().repos.subscriptions.softDelete(deleted.id, NOW_MS + 1)).toBe(true);
      expect((await store().repos.subscriptions.findByName(deleted.name))?.deletedAtMs).toBe(NOW_MS + 1);
      const reused = await createSubscription(store(), {
        name: deleted.name,
        topicId: topic.id,
        subscriberId: subscriber.id,
      });
      expect(reused.id).not.toBe(deleted.id);
      expect((await store().repos.subscriptions.findByName(deleted.name))?.id).toBe(reused.id);
      expect((await store().repos.subscriptions.findById(deleted.id))?.deletedAtMs).toBe(NOW_MS + 1);
      await expectDomainError(
        createSubscription(store(), { name: reused.name, topicId: topic.id, subscriberId: subscriber.id }),
        expected,
      );
    });

    it("treats names as case-sensitive", async () => {
      const topic = await createTopic(store());
      const subscriber = await createSubscriber(store());
      const base = unique("case");
      const upper = await createSubscription(store(), {
        name: `Audit-${base}`,
        topicId: topic.id,
        subscriberId: subscriber.id,
      });
      const lower = await createSubscription(store(), {
        name: `audit-${base}`,
        topicId: topic.id,
        subscriberId: subscriber.id,
      });
      expect(upper.id).not.toBe(lower.id);
      expect((await store().repos.subscriptions.findByName(`Audit-${base}`))?.id).toBe(upper.id);
      expect((await store().repos.subscriptions.findByName(`audit-${base}`))?.id).toBe(lower.id);
    });

    it("updates every settings field and updatedAtMs, leaving the rest", async () => {
      const topic = await createTopic(store());
      const subscriber = await createSubscriber(store());
      const created = await createSubscription(store(), { topicId: topic.id, subscriberId: subscriber.id });
      const settings = {
        identifierFilter: "a%b_c[d]?e",
        pushEndpoint: "https://new.example.com/x",
        ackDeadlineSeconds: 600,
        maxDeliveryAttempts: 100,
        minBackoffMs: 0,
        maxBackoffMs: 1,
        messageTtlMs: 10_000,
        enableOrdering: true,
        attributeFilter: "attributes:k",
        pushPayload: "unwrapped" as const,
        deliveryType: "pull" as const,
        enableExactlyOnceDelivery: true,
      };
      const updated = await store().repos.subscriptions.update(created.id, settings, NOW_MS + 3);
      expect(updated).toEqual({
        ...created,
        ...settings,
        callbackUrl: "https://new.example.com/x",
        updatedAtMs: NOW_MS + 3,
      });
      expect(await store().repos.subscriptions.findById(created.id)).toEqual(updated);
      const partly = await store().repos.subscriptions.update(
        created.id,
        { enableOrdering: false },
        NOW_MS + 4,
      );
      expect(partly).toEqual({ ...updated, enableOrdering: false, updatedAtMs: NOW_MS + 4 });
    });

    it("throws NOT_FOUND when updating an unknown id", async () => {
      await expectDomainError(
        store().repos.subscriptions.update(987_654_321n, { ackDeadlineSeconds: 10 }, NOW_MS),
        {
          kind: "not_found",
          reason: "SUBSCRIPTION_NOT_FOUND",
        },
      );
    });

    it("soft-deletes once: true then false, the row kept as deleted and inactive", async () => {
      const topic = await createTopic(store());
      const subscriber = await createSubscriber(store());
      const created = await createSubscription(store(), { topicId: topic.id, subscriberId: subscriber.id });
      expect(await store().repos.subscriptions.softDelete(created.id, NOW_MS + 10)).toBe(true);
      const deleted = await store().repos.subscriptions.findById(created.id);
      expect(deleted).toEqual({
        ...created,
        isActive: false,
        deletedAtMs: NOW_MS + 10,
        updatedAtMs: NOW_MS + 10,
      });
      expect(await store().repos.subscriptions.softDelete(created.id, NOW_MS + 20)).toBe(false);
      expect(await store().repos.subscriptions.findById(created.id)).toEqual(deleted);
      expect(await store().repos.subscriptions.softDelete(987_654_321n, NOW_MS)).toBe(false);
    });

    it("counts a subscriber's and a topic's subscriptions, deleted ones included", async () => {
      const topic = await createTopic(store());
      const otherTopic = await createTopic(store());
      const subscriber = await createSubscriber(store());
      const otherSubscriber = await createSubscriber(store());
      expect(await store().repos.subscriptions.countBySubscriber(subscriber.id)).toBe(0);
      expect(await store().repos.subscriptions.countByTopic(topic.id)).toBe(0);
      const a = await createSubscription(store(), { topicId: topic.id, subscriberId: subscriber.id });
      await createSubscription(store(), { topicId: topic.id, subscriberId: subscriber.id });
      await createSubscription(store(), { topicId: otherTopic.id, subscriberId: subscriber.id });
      await createSubscription(store(), { topicId: topic.id, subscriberId: otherSubscriber.id });
      await store().repos.subscriptions.softDelete(a.id, NOW_MS + 1);
      expect(await store().repos.subscriptions.countBySubscriber(subscriber.id)).toBe(3);
      expect(await store().repos.subscriptions.countBySubscriber(otherSubscriber.id)).toBe(1);
      // The port counts deleted subscriptions of a topic too: they keep history that blocks a delete.
      expect(await store().repos.subscriptions.countByTopic(topic.id)).toBe(3);
      expect(await store().repos.subscriptions.countByTopic(otherTopic.id)).toBe(1);
    });

    it("counts delivered (sent) queue rows of the subscription only", async () => {
      const s = store();
      const topic = await createTopic(s);
      const publisher = await createPublisher(s);
      const subscriber = await createSubscriber(s);
      const sub = await createSubscription(s, { topicId: topic.id, subscriberId: subscriber.id });
      const other = await createSubscription(s, { topicId: topic.id, subscriberId: subscriber.id });
      const ids = await s.repos.messages.insertMany(
        [0, 1, 2].map(() => messageToStore(topic.id, publisher.id)),
      );
      expect(await s.repos.queue.fanOut(ids, NOW_MS)).toBe(6);
      expect(await s.repos.subscriptions.countDelivered(sub.id)).toBe(0);
      // No port moves a row to "sent" yet; the delivery engine will. Mark two rows as the engine would.
      await s
        .knex("queue_items")
        .whereIn("subscription_id", [sub.id.toString(), other.id.toString()])
        .whereIn("message_id", ids.slice(0, 2).map(String))
        .update({ status: "sent" });
      expect(await s.repos.subscriptions.countDelivered(sub.id)).toBe(2);
      expect(await s.repos.subscriptions.countDelivered(other.id)).toBe(2);
      await s.knex("queue_items").where({ subscription_id: other.id.toString() }).update({ status: "sent" });
      expect(await s.repos.subscriptions.countDelivered(sub.id)).toBe(2);
      expect(await s.repos.subscriptions.countDelivered(other.id)).toBe(3);
    });

    it("pages a topic's subscriptions by id: 5 rows with limit 2 give pages of 2, 2 and 1", async () => {
      const topic = await createTopic(store());
      const otherTopic = await createTopic(store());
      const subscriber = await createSubscriber(store());
      const ids: bigint[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await createSubscription(store(), { topicId: topic.id, subscriberId: subscriber.id })).id);
        await createSubscription(store(), { topicId: otherTopic.id, subscriberId: subscriber.id });
      }
      const filter = { topicId: topic.id };
      const first = await store().repos.subscriptions.list({ afterId: null, limit: 2 }, filter);
      expect(first.items.map((s) => s.id)).toEqual(ids.slice(0, 2));
      expect(first.items[0]).toEqual(await store().repos.subscriptions.findById(ids[0] as bigint));
      expect(first.lastId).toBe(ids[1]);
      const second = await store().repos.subscriptions.list({ afterId: first.lastId, limit: 2 }, filter);
      expect(second.items.map((s) => s.id)).toEqual(ids.slice(2, 4));
      expect(second.lastId).toBe(ids[3]);
      const third = await store().repos.subscriptions.list({ afterId: second.lastId, limit: 2 }, filter);
      expect(third.items.map((s) => s.id)).toEqual(ids.slice(4));
      expect(third.lastId).toBeNull();
    });

    it("filters the list by topic, by subscriber, by both, and hides deleted ones unless asked", async () => {
      const t1 = await createTopic(store());
      const t2 = await createTopic(store());
      const a = await createSubscriber(store());
      const b = await createSubscriber(store());
      const a1 = await createSubscription(store(), { topicId: t1.id, subscriberId: a.id });
      const a2 = await createSubscription(store(), { topicId: t2.id, subscriberId: a.id });
      const b1 = await createSubscription(store(), { topicId: t1.id, subscriberId: b.id });
      const a1Deleted = await createSubscription(store(), { topicId: t1.id, subscriberId: a.id });
      await store().repos.subscriptions.softDelete(a1Deleted.id, NOW_MS + 1);
      const all = { afterId: null, limit: 50 };
      const idsOf = async (filter: SubscriptionFilter) =>
        (await store().repos.subscriptions.list(all, filter)).items.map((s) => s.id);
      expect(await idsOf({ topicId: t1.id })).toEqual([a1.id, b1.id]);
      expect(await idsOf({ topicId: t1.id, showDeleted: true })).toEqual([a1.id, b1.id, a1Deleted.id]);
      expect(await idsOf({ subscriberId: a.id })).toEqual([a1.id, a2.id]);
      expect(await idsOf({ subscriberId: a.id, showDeleted: false })).toEqual([a1.id, a2.id]);
      expect(await idsOf({ subscriberId: a.id, showDeleted: true })).toEqual([a1.id, a2.id, a1Deleted.id]);
      expect(await idsOf({ topicId: t1.id, subscriberId: a.id })).toEqual([a1.id]);
      expect(await idsOf({ topicId: t2.id, subscriberId: b.id })).toEqual([]);
      const deletedPage = await store().repos.subscriptions.list(all, {
        subscriberId: a.id,
        showDeleted: true,
      });
      expect(deletedPage.items[2]).toEqual(await store().repos.subscriptions.findById(a1Deleted.id));
      expect(deletedPage.lastId).toBeNull();
      const unfiltered = await store().repos.subscriptions.list({ afterId: a1.id - 1n, limit: 50 }, {});
      expect(unfiltered.items.map((s) => s.id)).toEqual([a1.id, a2.id, b1.id]);
    });
  },
);
