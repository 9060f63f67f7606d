/**
 * Seek to a time and retention, on every test database: the SubscriptionSeek use case over the
 * real store (in batches smaller than the rows, so paging is exercised), what it acks, requeues
 * and replays, that old ack ids stop working, and that the retention pruner keeps what a
 * subscription (retain_acked_messages) or a topic (message retention) retains.
 */
import { describe, expect, it } from "vitest";
import { Retention } from "../../src/app/admin/retention.js";
import { SubscriptionSeek } from "../../src/app/replay/subscription-seek.js";
import { FakeClock } from "../../src/domain/clock.js";
import { holdsLease } from "../../src/domain/queue-item.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  ackItems,
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  leaseItems,
  messageToStore,
  NOW_MS,
  useConformanceStore,
} from "./conformance-setup.js";

const DAY_MS = 86_400_000;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("seek on %s", (_kind, target) => {
  const store = useConformanceStore(target);

  /**
   * A topic with three messages published 3, 2 and 1 s before NOW_MS (all of `orderingKey`), and a
   * subscription with `settings` and a row for each.
   */
  async function threeMessages(
    s: KnexStore,
    retainAckedMessages: boolean,
    { enableOrdering = false, orderingKey = "" } = {},
  ) {
    const topic = await createTopic(s);
    const publisher = await createPublisher(s);
    const subscriber = await createSubscriber(s);
    const sub = await createSubscription(s, {
      topicId: topic.id,
      subscriberId: subscriber.id,
      deliveryType: "pull",
      messageTtlMs: DAY_MS,
      retainAckedMessages,
      enableOrdering,
    });
    const ids = await s.repos.messages.insertMany(
      [3000, 2000, 1000].map((ago) =>
        messageToStore(topic.id, publisher.id, { createdAtMs: NOW_MS - ago, orderingKey }),
      ),
    );
    await s.repos.queue.fanOut(ids, NOW_MS - 500);
    const rows = await Promise.all(ids.map(async (id) => (await s.repos.queue.listByMessage(id))[0]));
    return { topic, publisher, sub, ids, rowIds: rows.map((r) => r?.id ?? 0n) };
  }

  const statuses = async (s: KnexStore, rowIds: readonly bigint[]) =>
    (await s.repos.deliveries.findLeaseStates(rowIds))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((r) => r.status);

  it("acks what was published before the time and requeues what came after, in batches", async () => {
    const s = store();
    const { sub, rowIds } = await threeMessages(s, true);
    const [r1, r2, r3] = rowIds as [bigint, bigint, bigint];
    await ackItems(s, [r1, r2], NOW_MS);
    const [lease3] = await leaseItems(s, [r3], NOW_MS);

    const seek = new SubscriptionSeek(s, new FakeClock(NOW_MS + 10), 2);
    expect(await seek.seekToTime(sub, NOW_MS - 2500)).toEqual({ acked: 0, requeued: 2, replayed: 0 });
    expect(await statuses(s, rowIds)).toEqual(["sent", "pending", "pending"]);
    // The ack id handed out before the seek no longer names a lease.
    const [state3] = await s.repos.deliveries.findLeaseStates([r3]);
    expect(state3 && lease3 && holdsLease(state3, lease3)).toBe(false);
    expect(await s.repos.deliveries.markSentIfLeased(lease3 ? [lease3] : [], NOW_MS + 20)).toEqual([]);

    // Seek to now clears the backlog.
    expect(await seek.seekToTime(sub, NOW_MS + 10)).toEqual({ acked: 2, requeued: 0, replayed: 0 });
    expect(await statuses(s, rowIds)).toEqual(["sent", "sent", "sent"]);
  });

  it("brings acked messages back only when the subscription retains them", async () => {
    const s = store();
    const { sub, rowIds } = await threeMessages(s, false);
    await ackItems(s, rowIds, NOW_MS);
    const seek = new SubscriptionSeek(s, new FakeClock(NOW_MS + 10));
    expect(await seek.seekToTime(sub, NOW_MS - DAY_MS)).toEqual({ acked: 0, requeued: 0, replayed: 0 });
    expect(await statuses(s, rowIds)).toEqual(["sent", "sent", "sent"]);
  });

  it("replays topic-retained messages to a subscription created after they were published", async () => {
    const s = store();
    const { topic } = await threeMessages(s, false);
    await s
      .knex("topics")
      .where({ id: String(topic.id) })
      .update({ message_retention_ms: DAY_MS });
    const subscriber = await createSubscriber(s);
    const late = await createSubscription(
      s,
      { topicId: topic.id, subscriberId: subscriber.id, deliveryType: "pull" },
      NOW_MS + 5,
    );
    const seek = new SubscriptionSeek(s, new FakeClock(NOW_MS + 10), 2);
    expect(await seek.seekToTime(late, NOW_MS - 2500)).toEqual({ acked: 0, requeued: 0, replayed: 2 });
    const claimable = await s.transaction((repos) =>
      repos.deliveries.lockClaimable({
        subscriptionId: late.id,
        ordered: false,
        limit: 10,
        nowMs: NOW_MS + 10,
      }),
    );
    expect(claimable).toHaveLength(2);
    // A second seek to the same time adds nothing twice.
    expect((await seek.seekToTime(late, NOW_MS - 2500)).replayed).toBe(0);
  });

  it("keeps acked rows of retaining subscriptions and messages of retaining topics from the pruner", async () => {
    const s = store();
    const kept = await threeMessages(s, true);
    const dropped = await threeMessages(s, false);
    await s
      .knex("topics")
      .where({ id: String(kept.topic.id) })
      .update({ message_retention_ms: DAY_MS });
    await ackItems(s, [...kept.rowIds, ...dropped.rowIds], NOW_MS);
    // Global retention 0: everything delivered is due, except what a subscription or topic retains.
    const nowMs = NOW_MS + 60_000;
    await new Retention(s, { retentionMs: 0 }).run(nowMs);
    expect(await statuses(s, kept.rowIds)).toEqual(["sent", "sent", "sent"]);
    expect(await statuses(s, dropped.rowIds)).toEqual([]);
    const remaining = (await s
      .knex("messages")
      .whereIn("topic_id", [String(kept.topic.id), String(dropped.topic.id)])
      .select("topic_id")) as { topic_id: unknown }[];
    expect(remaining.map((r) => String(r.topic_id))).toEqual([
      String(kept.topic.id),
      String(kept.topic.id),
      String(kept.topic.id),
    ]);
    // Past the subscription's TTL and the topic's retention, both go.
    await new Retention(s, { retentionMs: 0 }).run(NOW_MS + 2 * DAY_MS);
    expect(await statuses(s, kept.rowIds)).toEqual([]);
  });

  it("restarts an ordering key from its first message after a seek", async () => {
    const s = store();
    const { sub, ids, rowIds } = await threeMessages(s, true, { enableOrdering: true, orderingKey: "k" });
    await ackItems(s, [rowIds[0] as bigint], NOW_MS);
    await leaseItems(s, [rowIds[1] as bigint], NOW_MS);
    await new SubscriptionSeek(s, new FakeClock(NOW_MS + 10)).seekToTime(sub, NOW_MS - 5000);
    const head = await s.transaction((repos) =>
      repos.deliveries.lockClaimable({
        subscriptionId: sub.id,
        ordered: true,
        limit: 10,
        nowMs: NOW_MS + 10,
      }),
    );
    expect(head.map((r) => r.messageId)).toEqual([ids[0]]);
  });
});
