/**
 * Conformance of RetentionRepository (and the Retention use case's batching on it) on every test
 * database: what each kind of pruning deletes and keeps, passes that resume, and batches bounded
 * by their limit. Every case starts from empty message, queue, log and dedup tables.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { Retention } from "../../src/app/admin/retention.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  ackItems,
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  deadLetterItems,
  leaseItems,
  messageToStore,
  NOW_MS,
  useConformanceStore,
} from "./conformance-setup.js";

const HOUR_MS = 3_600_000;
/** Rows "created" here are old; the cutoff in most cases is an hour later. */
const OLD_MS = NOW_MS - 10 * HOUR_MS;
const CUTOFF_MS = OLD_MS + HOUR_MS;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("retention on %s", (_kind, target) => {
  const store = useConformanceStore(target);

  beforeEach(async () => {
    const knex = store().knex;
    for (const table of ["notification_logs", "dead_letters", "queue_items", "message_dedup", "messages"]) {
      await knex(table).delete();
    }
  });

  /** `count` messages created at `createdAtMs`, each with one pending queue row created then. */
  async function insertQueued(count: number, createdAtMs: number) {
    const s = store();
    const publisher = await createPublisher(s);
    const topic = await createTopic(s);
    const subscriber = await createSubscriber(s);
    const subscription = await createSubscription(s, {
      topicId: topic.id,
      subscriberId: subscriber.id,
      deliveryType: "pull",
    });
    const messageIds = await s.repos.messages.insertMany(
      Array.from({ length: count }, () => messageToStore(topic.id, publisher.id, { createdAtMs })),
    );
    await s.repos.queue.fanOut(messageIds, createdAtMs);
    const rows = (await s
      .knex("queue_items")
      .select("id")
      .whereIn("message_id", messageIds.map(String))
      .orderBy("id")) as {
      id: unknown;
    }[];
    const queueIds = rows.map((r) => BigInt(String(r.id)));
    expect(queueIds).toHaveLength(count);
    return { publisherId: publisher.id, subscriptionId: subscription.id, messageIds, queueIds };
  }

  const deadLetter = (ids: readonly bigint[], atMs: number) =>
    deadLetterItems(store(), ids, atMs, {
      attemptCount: 1,
      lastError: "boom",
      firstAttemptAtMs: atMs,
      lastAttemptAtMs: atMs,
    });

  const statuses = async (queueIds: readonly bigint[]) => {
    const rows = (await store()
      .knex("queue_items")
      .select("id", "status")
      .whereIn("id", queueIds.map(String))
      .orderBy("id")) as { id: unknown; status: string }[];
    return rows.map((r) => [BigInt(String(r.id)), r.status]);
  };

  const count = async (table: string) => {
    const [row] = (await store().knex(table).count({ n: "*" })) as { n: unknown }[];
    return Number(row?.n);
  };

  const existingMessages = async (ids: readonly bigint[]) =>
    [...(await store().repos.messages.findMany(ids)).keys()].sort((a, b) => (a < b ? -1 : 1));

  it("deletes only sent and dead-lettered queue rows completed at or before the cutoff", async () => {
    const { queueIds } = await insertQueued(7, OLD_MS);
    const [oldSent, edgeSent, recentSent, oldDead, pending, failed, leased] = queueIds as [
      bigint,
      bigint,
      bigint,
      bigint,
      bigint,
      bigint,
      bigint,
    ];
    const repos = store().repos;
    await ackItems(store(), [oldSent], OLD_MS + 1);
    await ackItems(store(), [edgeSent], CUTOFF_MS);
    await ackItems(store(), [recentSent], CUTOFF_MS + 1);
    await deadLetter([oldDead], OLD_MS + 1);
    const [failedLease] = await leaseItems(store(), [failed], OLD_MS);
    if (!failedLease) throw new Error("expected a lease");
    await repos.deliveries.markFailedIfLeased(
      [
        {
          lease: failedLease,
          attemptCount: 1,
          lastError: "x",
          nextRetryAtMs: OLD_MS + 2,
          firstAttemptAtMs: OLD_MS,
          lastAttemptAtMs: OLD_MS,
        },
      ],
      OLD_MS + 1,
    );
    await leaseItems(store(), [leased], OLD_MS, 5);

    const batch = await repos.retention.pruneQueueItems(0n, CUTOFF_MS, 1000, CUTOFF_MS);

    expect(batch).toEqual({ deleted: 3, next: null });
    expect(await statuses(queueIds)).toEqual([
      [recentSent, "sent"],
      [pending, "pending"],
      [failed, "failed"],
      [leased, "leased"],
    ]);
    // The dead letter itself is never pruned.
    expect(await count("dead_letters")).toBe(1);
  });

  it("walks queue rows in passes bounded by the limit, ending at the first row created after the cutoff", async () => {
    const old = await insertQueued(5, OLD_MS);
    const recent = await insertQueued(2, CUTOFF_MS + 1);
    await ackItems(store(), [...old.queueIds, ...recent.queueIds], CUTOFF_MS);
    const [q1, q2, , q4] = old.queueIds as [bigint, bigint, bigint, bigint, bigint];
    // Two of the first four rows must be kept: the pass examines them and moves past.
    await store()
      .knex("queue_items")
      .whereIn("id", [String(q1), String(q4)])
      .update({ status: "pending", completed_at_ms: null });

    const retention = store().repos.retention;
    expect(await retention.pruneQueueItems(0n, CUTOFF_MS, 2, CUTOFF_MS)).toEqual({ deleted: 1, next: q2 });
    expect(await retention.pruneQueueItems(q2, CUTOFF_MS, 2, CUTOFF_MS)).toEqual({ deleted: 1, next: q4 });
    // The fifth old row is deleted, then the first recent row ends the pass.
    expect(await retention.pruneQueueItems(q4, CUTOFF_MS, 2, CUTOFF_MS)).toEqual({ deleted: 1, next: null });
    expect(await count("queue_items")).toBe(4);
  });

  it("deletes notification-log rows created at or before the cutoff, oldest first and at most the limit", async () => {
    const { queueIds } = await insertQueued(4, OLD_MS);
    const logs = store().repos.notificationLogs;
    const context = { topicCode: "t", defaultMethod: "pull" as const };
    const entries = (ids: readonly bigint[]) => ids.map((queueId) => ({ queueId, status: "sent" as const }));
    await logs.insertForQueueItems(entries(queueIds.slice(0, 2)), context, OLD_MS);
    await logs.insertForQueueItems(entries(queueIds.slice(2, 3)), context, CUTOFF_MS);
    await logs.insertForQueueItems(entries(queueIds.slice(3)), context, CUTOFF_MS + 1);

    const retention = store().repos.retention;
    expect(await retention.pruneNotificationLogs(CUTOFF_MS, 2)).toBe(2);
    expect(await retention.pruneNotificationLogs(CUTOFF_MS, 2)).toBe(1);
    expect(await retention.pruneNotificationLogs(CUTOFF_MS, 2)).toBe(0);
    const [left] = (await store().knex("notification_logs").select("created_at_ms")) as {
      created_at_ms: unknown;
    }[];
    expect(Number(left?.created_at_ms)).toBe(CUTOFF_MS + 1);
    expect(await count("notification_logs")).toBe(1);
  });

  it("deletes old messages that no queue row and no dead letter references, and keeps the rest", async () => {
    const { messageIds, queueIds } = await insertQueued(4, OLD_MS);
    // The fourth message will be the orphan.
    const [withSentRow, withPendingRow, withDeadLetter] = messageIds as [bigint, bigint, bigint, bigint];
    const s = store();
    await ackItems(s, [queueIds[0] as bigint], OLD_MS);
    await deadLetter([queueIds[2] as bigint], OLD_MS);
    // The orphan's and the dead-lettered message's queue rows are gone (as after queue pruning).
    await s
      .knex("queue_items")
      .whereIn("id", [String(queueIds[2]), String(queueIds[3])])
      .delete();
    const young = await insertQueued(1, CUTOFF_MS + 1);
    await s.knex("queue_items").whereIn("id", young.queueIds.map(String)).delete();

    const batch = await s.repos.retention.pruneMessages(null, CUTOFF_MS, 1000, CUTOFF_MS);

    expect(batch).toEqual({ deleted: 1, next: null });
    expect(await existingMessages([...messageIds, ...young.messageIds])).toEqual([
      withSentRow,
      withPendingRow,
      withDeadLetter,
      ...young.messageIds,
    ]);
  });

  it("walks messages in (created_at_ms, id) passes that move past referenced messages", async () => {
    const referenced = await insertQueued(3, OLD_MS);
    const orphans = await insertQueued(3, OLD_MS + 1);
    await store().knex("queue_items").whereIn("id", orphans.queueIds.map(String)).delete();

    const retention = store().repos.retention;
    const first = await retention.pruneMessages(null, CUTOFF_MS, 2, CUTOFF_MS);
    expect(first).toEqual({ deleted: 0, next: { createdAtMs: OLD_MS, id: referenced.messageIds[1] } });
    const second = await retention.pruneMessages(first.next, CUTOFF_MS, 2, CUTOFF_MS);
    expect(second).toEqual({ deleted: 1, next: { createdAtMs: OLD_MS + 1, id: orphans.messageIds[0] } });
    const third = await retention.pruneMessages(second.next, CUTOFF_MS, 2, CUTOFF_MS);
    expect(third).toEqual({ deleted: 2, next: { createdAtMs: OLD_MS + 1, id: orphans.messageIds[2] } });
    expect(await retention.pruneMessages(third.next, CUTOFF_MS, 2, CUTOFF_MS)).toEqual({
      deleted: 0,
      next: null,
    });
    expect(await existingMessages([...referenced.messageIds, ...orphans.messageIds])).toEqual(
      referenced.messageIds,
    );
  });

  it("deletes dedup entries expired at now, byte-exact keys included, and keeps live ones", async () => {
    const { publisherId, messageIds } = await insertQueued(4, OLD_MS);
    const other = await insertQueued(1, OLD_MS);
    const dedup = store().repos.dedup;
    const [m1, m2, m3, m4] = messageIds as [bigint, bigint, bigint, bigint];
    await dedup.record(
      publisherId,
      [
        { dedupId: "pad", messageId: m1 },
        { dedupId: "pad ", messageId: m2 },
      ],
      NOW_MS - 2000,
      1000,
    );
    await dedup.record(publisherId, [{ dedupId: "edge", messageId: m3 }], NOW_MS - 1000, 1000);
    await dedup.record(publisherId, [{ dedupId: "live", messageId: m4 }], NOW_MS - 1000, 1001);
    await dedup.record(
      other.publisherId,
      [{ dedupId: "pad", messageId: other.messageIds[0] as bigint }],
      NOW_MS - 2000,
      1000,
    );

    expect(await store().repos.retention.pruneExpiredDedup(NOW_MS, 1000)).toBe(4);
    expect(await count("message_dedup")).toBe(1);
    expect(await dedup.findLive(publisherId, ["live"], NOW_MS)).toEqual(new Map([["live", m4]]));
  });

  it("prunes 2,500 rows of each kind in batches of 1000, at most two batches per run", async () => {
    const { publisherId, messageIds, queueIds } = await insertQueued(2_500, OLD_MS);
    const s = store();
    await ackItems(s, queueIds, OLD_MS);
    await s.repos.notificationLogs.insertForQueueItems(
      queueIds.map((queueId) => ({ queueId, status: "sent" as const })),
      { topicCode: "t", defaultMethod: "pull" },
      OLD_MS,
    );
    for (let i = 0; i < messageIds.length; i += 500) {
      await s.repos.dedup.record(
        publisherId,
        messageIds.slice(i, i + 500).map((messageId) => ({ dedupId: `d-${messageId}`, messageId })),
        OLD_MS,
        1000,
      );
    }
    const retention = new Retention(s, {
      retentionMs: NOW_MS - CUTOFF_MS,
      batchSize: 1000,
      maxBatchesPerRun: 2,
    });

    expect(await retention.run(NOW_MS)).toEqual({
      queueItems: 2_000,
      notificationLogs: 2_000,
      messages: 2_000,
      dedupEntries: 2_000,
      snapshots: 0,
    });
    expect(await count("queue_items")).toBe(500);
    expect(await retention.run(NOW_MS)).toEqual({
      queueItems: 500,
      notificationLogs: 500,
      messages: 500,
      dedupEntries: 500,
      snapshots: 0,
    });
    for (const table of ["queue_items", "notification_logs", "messages", "message_dedup"]) {
      expect(await count(table), table).toBe(0);
    }
    expect(await retention.run(NOW_MS)).toEqual({
      queueItems: 0,
      notificationLogs: 0,
      messages: 0,
      dedupEntries: 0,
      snapshots: 0,
    });
  });
});
