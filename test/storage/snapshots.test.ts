/**
 * Snapshots on every test database: SnapshotAdmin and SubscriptionSeek over the real store, in
 * batches smaller than the backlog so capture and seek paging are exercised; what a snapshot
 * holds, that seeking to it restores exactly that acked state (old ack ids invalidated), expiry by
 * an injected clock, and that the retention pruner keeps a live snapshot's messages and deletes
 * an expired snapshot.
 */
import { describe, expect, it } from "vitest";
import { Retention } from "../../src/app/admin/retention.js";
import { SnapshotAdmin } from "../../src/app/replay/snapshot-admin.js";
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
  expectDomainError,
  leaseItems,
  messageToStore,
  NOW_MS,
  unique,
  useConformanceStore,
} from "./conformance-setup.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("snapshots on %s", (_kind, target) => {
  const store = useConformanceStore(target);

  /** A topic, a pull subscription with `ttlMs`, and `count` messages published `ago` ms apart before NOW_MS. */
  async function backlog(
    s: KnexStore,
    count: number,
    { ttlMs = DAY_MS, retainAckedMessages = false, atMs = NOW_MS } = {},
  ) {
    const topic = await createTopic(s);
    const publisher = await createPublisher(s);
    const subscriber = await createSubscriber(s);
    const sub = await createSubscription(s, {
      topicId: topic.id,
      subscriberId: subscriber.id,
      deliveryType: "pull",
      messageTtlMs: ttlMs,
      retainAckedMessages,
    });
    const publish = async (n: number, atMs: number) => {
      const ids = await s.repos.messages.insertMany(
        Array.from({ length: n }, (_, i) =>
          messageToStore(topic.id, publisher.id, { createdAtMs: atMs - (n - i) * 1000 }),
        ),
      );
      await s.repos.queue.fanOut(ids, atMs);
      return ids;
    };
    const rowsOf = async (messageIds: readonly bigint[]) =>
      Promise.all(
        messageIds.map(async (id) => {
          const rows = await s.repos.queue.listByMessage(id);
          return rows.find((r) => r.subscriptionId === sub.id)?.id ?? 0n;
        }),
      );
    const messageIds = await publish(count, atMs);
    return {
      topic,
      publisher,
      subscriber,
      sub,
      publish,
      rowsOf,
      messageIds,
      rowIds: await rowsOf(messageIds),
    };
  }

  const statuses = async (s: KnexStore, rowIds: readonly bigint[]) =>
    (await s.repos.deliveries.findLeaseStates(rowIds))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((r) => r.status);

  it("restores exactly the acked state it captured: unacked then and published later come back", async () => {
    const s = store();
    const clock = new FakeClock(NOW_MS);
    const { sub, publish, rowsOf, rowIds } = await backlog(s, 5);
    const [r1, r2, r3] = rowIds as [bigint, bigint, bigint, bigint, bigint];
    await ackItems(s, [r1, r2], NOW_MS);
    await leaseItems(s, [r3], NOW_MS);
    // Batches of 2 rows: capture and seek both page over the backlog.
    const admin = new SnapshotAdmin(s, clock, { batchSize: 2 });
    const name = unique("snap");
    const snapshot = await admin.create({
      name,
      subscription: sub.name,
      labels: { env: "test" },
      pubsubProject: "",
    });
    expect(snapshot).toMatchObject({
      name,
      topicId: sub.topicId,
      sourceSubscription: sub.name,
      labels: { env: "test" },
    });

    // After the snapshot: everything acked, two more published, one of them acked too.
    clock.advanceMs(60_000);
    await ackItems(s, rowIds.slice(2), clock.nowMs());
    const later = await rowsOf(await publish(2, clock.nowMs()));
    await ackItems(s, [later[0] as bigint], clock.nowMs());
    const [staleLease] = await leaseItems(s, [later[1] as bigint], clock.nowMs());

    const seek = new SubscriptionSeek(s, clock, 2);
    const result = await seek.seekToSnapshotByName(sub.name, name);
    expect(result).toEqual({ acked: 0, requeued: 5, replayed: 0 });
    expect(await statuses(s, [...rowIds, ...later])).toEqual([
      "sent",
      "sent",
      "pending",
      "pending",
      "pending",
      "pending",
      "pending",
    ]);
    // Ack ids handed out before the seek stop working.
    const [state] = await s.repos.deliveries.findLeaseStates([later[1] as bigint]);
    expect(state && staleLease && holdsLease(state, staleLease)).toBe(false);

    // Seeking to it again acks nothing it did not hold and leaves the held ones pending.
    await ackItems(s, [r3], clock.nowMs());
    expect(await seek.seekToSnapshotByName(sub.name, name)).toEqual({ acked: 0, requeued: 1, replayed: 0 });
  });

  it("acks what the snapshot does not hold", async () => {
    const s = store();
    const clock = new FakeClock(NOW_MS);
    const { sub, rowIds } = await backlog(s, 3, { retainAckedMessages: true });
    await ackItems(s, rowIds, NOW_MS);
    const name = unique("snap");
    await new SnapshotAdmin(s, clock).create({ name, subscription: sub.name, labels: {}, pubsubProject: "" });
    // Redelivered (e.g. a seek to a time) after the snapshot: the snapshot says acked.
    await new SubscriptionSeek(s, clock).seekToTime(sub, 0);
    expect(await statuses(s, rowIds)).toEqual(["pending", "pending", "pending"]);
    expect(await new SubscriptionSeek(s, clock).seekToSnapshotByName(sub.name, name)).toEqual({
      acked: 3,
      requeued: 0,
      replayed: 0,
    });
    expect(await statuses(s, rowIds)).toEqual(["sent", "sent", "sent"]);
  });

  it("expires when its oldest message leaves retention, then answers NOT_FOUND and is pruned", async () => {
    const s = store();
    const clock = new FakeClock(NOW_MS);
    const { sub, rowIds } = await backlog(s, 2, { ttlMs: 2 * HOUR_MS });
    const admin = new SnapshotAdmin(s, clock);
    const name = unique("snap");
    const snapshot = await admin.create({ name, subscription: sub.name, labels: {}, pubsubProject: "" });
    // The oldest held message was published 2 s before NOW_MS; the subscription keeps it 2 h.
    expect(snapshot.expireAtMs).toBe(NOW_MS - 2000 + 2 * HOUR_MS);
    expect((await admin.list({ pageSize: 0, pageToken: "" })).items.map((x) => x.name)).toContain(name);

    clock.setMs(snapshot.expireAtMs);
    await expectDomainError(admin.get(name), { kind: "not_found", reason: "SNAPSHOT_NOT_FOUND" });
    await expectDomainError(new SubscriptionSeek(s, clock).seekToSnapshotByName(sub.name, name), {
      kind: "not_found",
      reason: "SNAPSHOT_NOT_FOUND",
    });
    expect((await admin.list({ pageSize: 0, pageToken: "" })).items.map((x) => x.name)).not.toContain(name);

    const result = await new Retention(s, { retentionMs: 0 }).run(clock.nowMs());
    expect(result.snapshots).toBeGreaterThanOrEqual(1);
    expect(
      await s
        .knex("snapshots")
        .where({ id: String(snapshot.id) })
        .select("id"),
    ).toEqual([]);
    expect(
      await s
        .knex("snapshot_items")
        .where({ snapshot_id: String(snapshot.id) })
        .select("message_id"),
    ).toEqual([]);
    // A snapshot that would expire within the hour is refused, as in Pub/Sub.
    await expectDomainError(admin.create({ name, subscription: sub.name, labels: {}, pubsubProject: "" }), {
      kind: "failed_precondition",
      reason: "SNAPSHOT_BACKLOG_TOO_OLD",
    });
    // With the backlog acked the name is free again.
    await ackItems(s, rowIds, clock.nowMs());
    await admin.create({ name, subscription: sub.name, labels: {}, pubsubProject: "" });
  });

  it("keeps the messages a live snapshot holds from the pruner and queues them again on seek", async () => {
    const s = store();
    // Later than every other case's rows: the pruner's pass stops at the first row created after its cutoff.
    const T0 = NOW_MS + 30 * DAY_MS;
    const clock = new FakeClock(T0);
    const { sub, topic, publish, messageIds, rowIds } = await backlog(s, 2, { atMs: T0 });
    const name = unique("snap");
    const admin = new SnapshotAdmin(s, clock);
    await admin.create({ name, subscription: sub.name, labels: {}, pubsubProject: "" });
    const later = await publish(1, T0 + 1000);
    const laterRows = (await s.repos.queue.listByMessage(later[0] as bigint)).map((r) => r.id);
    await ackItems(s, [...rowIds, ...laterRows], T0 + 1000);

    // Retention 0: every acked row goes; the messages stay because the snapshot holds them.
    clock.setMs(T0 + 2000);
    await new Retention(s, { retentionMs: 0 }).run(clock.nowMs());
    expect(await statuses(s, [...rowIds, ...laterRows])).toEqual([]);
    const kept = (await s
      .knex("messages")
      .where({ topic_id: String(topic.id) })
      .select("id")) as { id: unknown }[];
    expect(kept.map((r) => BigInt(r.id as string | bigint))).toEqual([...messageIds, ...later]);

    expect(await new SubscriptionSeek(s, clock).seekToSnapshotByName(sub.name, name)).toEqual({
      acked: 0,
      requeued: 0,
      replayed: 3,
    });

    // Once the snapshot is deleted, acked rows and then the messages go.
    await admin.delete(name);
    await expectDomainError(admin.get(name), { kind: "not_found", reason: "SNAPSHOT_NOT_FOUND" });
    const allRows = (
      await Promise.all([...messageIds, ...later].map((id) => s.repos.queue.listByMessage(id)))
    )
      .flat()
      .map((r) => r.id);
    await ackItems(s, allRows, clock.nowMs());
    await new Retention(s, { retentionMs: 0 }).run(clock.nowMs() + 1000);
    expect(
      await s
        .knex("messages")
        .where({ topic_id: String(topic.id) })
        .select("id"),
    ).toEqual([]);
  });

  it("seeks a subscription created later on the same topic and refuses one of another topic", async () => {
    const s = store();
    const clock = new FakeClock(NOW_MS);
    const { sub, topic, subscriber, messageIds } = await backlog(s, 3);
    const name = unique("snap");
    await new SnapshotAdmin(s, clock).create({ name, subscription: sub.name, labels: {}, pubsubProject: "" });
    const late = await createSubscription(s, {
      topicId: topic.id,
      subscriberId: subscriber.id,
      deliveryType: "pull",
    });
    const seek = new SubscriptionSeek(s, clock);
    expect(await seek.seekToSnapshotByName(late.name, name)).toEqual({ acked: 0, requeued: 0, replayed: 3 });
    const lateRows = (await Promise.all(messageIds.map((id) => s.repos.queue.listByMessage(id))))
      .flat()
      .filter((r) => r.subscriptionId === late.id);
    expect(lateRows).toHaveLength(3);

    const other = await backlog(s, 1);
    await expectDomainError(seek.seekToSnapshotByName(other.sub.name, name), {
      kind: "failed_precondition",
      reason: "SNAPSHOT_TOPIC_MISMATCH",
    });
  });

  it("updates labels and expiry within 7 days of creation and refuses duplicates", async () => {
    const s = store();
    const clock = new FakeClock(NOW_MS);
    const { sub } = await backlog(s, 0);
    const admin = new SnapshotAdmin(s, clock);
    const name = unique("snap");
    const created = await admin.create({ name, subscription: sub.name, labels: {}, pubsubProject: "" });
    expect(created.expireAtMs).toBe(NOW_MS + 7 * DAY_MS);
    await expectDomainError(admin.create({ name, subscription: sub.name, labels: {}, pubsubProject: "" }), {
      kind: "already_exists",
      reason: "SNAPSHOT_ALREADY_EXISTS",
    });
    const updated = await admin.update(name, { labels: { team: "a" }, expireAtMs: NOW_MS + DAY_MS });
    expect(updated).toMatchObject({ labels: { team: "a" }, expireAtMs: NOW_MS + DAY_MS });
    await expectDomainError(admin.update(name, { expireAtMs: NOW_MS + 8 * DAY_MS }), {
      kind: "invalid_argument",
      reason: "INVALID_ARGUMENT",
    });
  });

  it("pages snapshots of one topic", async () => {
    const s = store();
    const clock = new FakeClock(NOW_MS);
    const { sub, topic } = await backlog(s, 1);
    const admin = new SnapshotAdmin(s, clock);
    const names = [unique("snap"), unique("snap"), unique("snap")];
    for (const name of names)
      await admin.create({ name, subscription: sub.name, labels: {}, pubsubProject: "" });
    const first = await admin.list({ pageSize: 2, pageToken: "", topicCode: topic.code });
    const second = await admin.list({ pageSize: 2, pageToken: first.nextPageToken, topicCode: topic.code });
    expect([...first.items, ...second.items].map((x) => x.name)).toEqual(names);
    expect(second.nextPageToken).toBe("");
  });
});
