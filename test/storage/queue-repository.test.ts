/**
 * Conformance of QueueRepository.fanOut/listByMessage on every test database: which (subscription,
 * message) rows a publish creates, and with what values. Identifier matching runs in SQL (LIKE on
 * MySQL, GLOB on SQLite), so every filter shape is checked against both.
 */
import { describe, expect, it } from "vitest";
import type { QueueRow } from "../../src/app/ports/queue-repository.js";
import type { Subscription } from "../../src/domain/subscription.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  messageToStore,
  NOW_MS,
  useConformanceStore,
} from "./conformance-setup.js";

const FANOUT_AT_MS = NOW_MS + 500;
const META_FILTER = "a%b_c[d]?e";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("queue on %s", (_kind, target) => {
  const store = useConformanceStore(target);

  /** Publishes one message per identifier on `topicId`, with distinct createdAtMs, and fans them out. */
  async function publish(topicId: bigint, publisherId: bigint, identifiers: readonly string[]) {
    const messages = identifiers.map((identifier, i) =>
      messageToStore(topicId, publisherId, { identifier, createdAtMs: NOW_MS + 10 * i }),
    );
    const ids = await store().repos.messages.insertMany(messages);
    const created = await store().repos.queue.fanOut(ids, FANOUT_AT_MS);
    return { ids, created, createdAtMs: messages.map((m) => m.createdAtMs) };
  }

  /** The exact row fanOut must have created for a message and a subscription. */
  function expectedRow(
    sub: Subscription,
    messageId: bigint,
    messageCreatedAtMs: number,
  ): Omit<QueueRow, "id"> {
    return {
      subscriptionId: sub.id,
      messageId,
      status: "pending",
      attemptCount: 0,
      expiresAtMs: messageCreatedAtMs + sub.messageTtlMs,
      sequenceNumber: messageId,
      createdAtMs: FANOUT_AT_MS,
    };
  }

  it("creates pending rows for exactly the matching live subscriptions of active subscribers", async () => {
    const s = store();
    const topic = await createTopic(s);
    const otherTopic = await createTopic(s);
    const publisher = await createPublisher(s);
    const active = await createSubscriber(s);
    const inactive = await createSubscriber(s);
    await s.repos.subscribers.update(inactive.id, { isActive: false }, NOW_MS);

    let ttl = 60_000;
    /** Each subscription gets its own TTL, so expiresAtMs shows which subscription a row came from. */
    const subscribe = (
      identifierFilter: string,
      fields: { topicId?: bigint; subscriberId?: bigint } = {},
    ) => {
      ttl += 1_000;
      return createSubscription(s, {
        topicId: fields.topicId ?? topic.id,
        subscriberId: fields.subscriberId ?? active.id,
        identifierFilter,
        messageTtlMs: ttl,
      });
    };
    const all = await subscribe("");
    const star = await subscribe("*");
    const exact = await subscribe("user-1");
    const prefix = await subscribe("user-*");
    const suffix = await subscribe("*-eu");
    const meta = await subscribe(META_FILTER);
    const backslash = await subscribe("dir\\*");
    const trailingSpace = await subscribe("eu ");
    const deleted = await subscribe("");
    await s.repos.subscriptions.softDelete(deleted.id, NOW_MS);
    await subscribe("", { subscriberId: inactive.id });
    const elsewhere = await subscribe("", { topicId: otherTopic.id });

    const cases: [string, Subscription[]][] = [
      ["user-1", [all, star, exact, prefix]],
      ["user-2-eu", [all, star, prefix, suffix]],
      ["User-1", [all, star]],
      ["USER-1", [all, star]],
      ["user-", [all, star, prefix]],
      ["order-eu", [all, star, suffix]],
      ["order-EU", [all, star]],
      ["-eu", [all, star, suffix]],
      [META_FILTER, [all, star, meta]],
      ["aXbYc[d]?e", [all, star]],
      ["aZZbYcde", [all, star]],
      ["a%b_cdXe", [all, star]],
      ["a%b_c[d]Xe", [all, star]],
      ["dir\\file", [all, star, backslash]],
      ["dir\\", [all, star, backslash]],
      ["dirXfile", [all, star]],
      ["", [all, star]],
      ["user-1 ✓", [all, star, prefix]],
      // MySQL compares PAD SPACE collations with `=` ignoring trailing spaces; LIKE must not.
      ["user-1 ", [all, star, prefix]],
      ["eu ", [all, star, trailingSpace]],
      ["eu", [all, star]],
    ];
    const { ids, created, createdAtMs } = await publish(
      topic.id,
      publisher.id,
      cases.map(([identifier]) => identifier),
    );
    const expectedCount = cases.reduce((n, [, subs]) => n + subs.length, 0);
    expect(created).toBe(expectedCount);

    for (const [i, [identifier, subs]] of cases.entries()) {
      const messageId = ids[i] as bigint;
      const rows = await s.repos.queue.listByMessage(messageId);
      const expected = subs.map((sub) => expectedRow(sub, messageId, createdAtMs[i] as number));
      expect({ identifier, rows: rows.map(({ id: _id, ...row }) => row) }).toEqual({
        identifier,
        rows: expected,
      });
      expect(rows.every((row) => typeof row.id === "bigint")).toBe(true);
    }

    const other = await publish(otherTopic.id, publisher.id, ["user-1"]);
    expect(other.created).toBe(1);
    const otherRows = await s.repos.queue.listByMessage(other.ids[0] as bigint);
    expect(otherRows.map(({ id: _id, ...row }) => row)).toEqual([
      expectedRow(elsewhere, other.ids[0] as bigint, other.createdAtMs[0] as number),
    ]);
  });

  it("creates rows for several messages in one call and nothing for an empty list", async () => {
    const s = store();
    const topic = await createTopic(s);
    const publisher = await createPublisher(s);
    const subscriber = await createSubscriber(s);
    const a = await createSubscription(s, { topicId: topic.id, subscriberId: subscriber.id });
    const b = await createSubscription(s, {
      topicId: topic.id,
      subscriberId: subscriber.id,
      messageTtlMs: 10_000,
    });
    expect(await s.repos.queue.fanOut([], FANOUT_AT_MS)).toBe(0);
    const { ids, created, createdAtMs } = await publish(topic.id, publisher.id, ["x", "y", "z"]);
    expect(created).toBe(6);
    for (const [i, id] of ids.entries()) {
      const rows = await s.repos.queue.listByMessage(id);
      expect(rows.map(({ id: _id, ...row }) => row)).toEqual([
        expectedRow(a, id, createdAtMs[i] as number),
        expectedRow(b, id, createdAtMs[i] as number),
      ]);
    }
  });

  it("creates nothing when a topic has no live subscription, and lists nothing for an unknown message", async () => {
    const s = store();
    const topic = await createTopic(s);
    const publisher = await createPublisher(s);
    const subscriber = await createSubscriber(s);
    const sub = await createSubscription(s, { topicId: topic.id, subscriberId: subscriber.id });
    await s.repos.subscriptions.softDelete(sub.id, NOW_MS);
    const { ids, created } = await publish(topic.id, publisher.id, ["a"]);
    expect(created).toBe(0);
    expect(await s.repos.queue.listByMessage(ids[0] as bigint)).toEqual([]);
    expect(await s.repos.queue.listByMessage(987_654_321n)).toEqual([]);
  });

  it("matches with the updated identifier filter after a subscription update", async () => {
    const s = store();
    const topic = await createTopic(s);
    const publisher = await createPublisher(s);
    const subscriber = await createSubscriber(s);
    const sub = await createSubscription(s, {
      topicId: topic.id,
      subscriberId: subscriber.id,
      identifierFilter: "user-1",
    });
    const rowsFor = async (identifiers: string[]) => {
      const { ids } = await publish(topic.id, publisher.id, identifiers);
      return Promise.all(ids.map(async (id) => (await s.repos.queue.listByMessage(id)).length));
    };
    expect(await rowsFor(["user-1", "user-2", "aXbYc[d]?e"])).toEqual([1, 0, 0]);
    await s.repos.subscriptions.update(sub.id, { identifierFilter: "user-*" }, NOW_MS + 1);
    expect(await rowsFor(["user-1", "user-2", "User-2", "aXbYc[d]?e"])).toEqual([1, 1, 0, 0]);
    await s.repos.subscriptions.update(sub.id, { identifierFilter: META_FILTER }, NOW_MS + 2);
    expect(await rowsFor(["user-1", META_FILTER, "aXbYc[d]?e", "aZZbYcde"])).toEqual([0, 1, 0, 0]);
    await s.repos.subscriptions.update(sub.id, { identifierFilter: "" }, NOW_MS + 3);
    expect(await rowsFor(["user-1", "", "anything"])).toEqual([1, 1, 1]);
    // A patch without identifierFilter leaves matching as it was.
    await s.repos.subscriptions.update(sub.id, { ackDeadlineSeconds: 60 }, NOW_MS + 4);
    expect(await rowsFor(["other"])).toEqual([1]);
  });

  it("resumes fan-out to a subscriber once it is reactivated", async () => {
    const s = store();
    const topic = await createTopic(s);
    const publisher = await createPublisher(s);
    const subscriber = await createSubscriber(s);
    await createSubscription(s, { topicId: topic.id, subscriberId: subscriber.id });
    await s.repos.subscribers.update(subscriber.id, { isActive: false }, NOW_MS);
    expect((await publish(topic.id, publisher.id, ["a"])).created).toBe(0);
    await s.repos.subscribers.update(subscriber.id, { isActive: true }, NOW_MS + 1);
    expect((await publish(topic.id, publisher.id, ["a"])).created).toBe(1);
  });
});
