/**
 * Seek over 100,000 messages, in batches: bounded memory, every row moved, through Herald's API —
 * to a time, and to a snapshot of the whole backlog.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const COUNT = 100_000;
const DIGITS =
  "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";

/**
 * Runs `work` and checks the heap grew less than 60 MiB meanwhile (sampled every 20 ms): loading
 * the backlog's ids, let alone its rows, at once would take well over that.
 */
async function expectBoundedHeap<T>(work: () => Promise<T>): Promise<T> {
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 20);
  try {
    return await work();
  } finally {
    clearInterval(sampler);
    expect(peak - baseline).toBeLessThan(60 * 1024 * 1024);
  }
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("seek at scale on %s", (_k, target) => {
  let db: TestDatabase;
  let t: TestServer;

  beforeAll(async () => {
    db = await target.create();
    t = await startTestServer(db);
  });
  afterAll(async () => {
    await t?.stop();
    await db?.drop();
  });

  it(`acks and then replays ${COUNT.toLocaleString("en")} messages in bounded memory`, async () => {
    await t.admin.createPublisher({ code: "scale", name: "scale" });
    await t.admin.createTopic({ code: "scale.seek", name: "scale" });
    const subscriber = (await t.admin.createSubscriber({ clientId: 1n, name: "s" })).subscriber?.id ?? 0n;
    const { subscription } = await t.admin.createSubscription({
      name: "scale-seek",
      subscriberId: subscriber,
      topic: "scale.seek",
      deliveryType: DeliveryType.PULL,
      retainAckedMessages: true,
    });
    const topicId = (await t.admin.getTopic({ code: "scale.seek" })).topic?.id ?? 0n;
    const publisherId = (await t.admin.getPublisher({ code: "scale" })).publisher?.id ?? 0n;
    // Bulk-create the backlog in SQL (1 KiB payloads), as a long consumer outage would leave it.
    const knex = (t.server.store as KnexStore).knex;
    const publishedAtMs = Date.now() - 60_000;
    await knex.raw(
      `INSERT INTO messages (topic_id, publisher_id, identifier, ordering_key, ordering_key_hash, data,
         attributes, created_at_ms, size_bytes)
       SELECT ?, ?, '', '', 0, ?, '{}', ?, 1024
       FROM ${DIGITS} a, ${DIGITS} b, ${DIGITS} c, ${DIGITS} d, ${DIGITS} e`,
      [String(topicId), String(publisherId), Buffer.from("x".repeat(1024)), publishedAtMs],
    );
    await knex.raw(
      `INSERT INTO queue_items (subscription_id, message_id, status, attempt_count, available_at_ms, lease_token,
         expires_at_ms, sequence_number, ordering_key_hash, created_at_ms, updated_at_ms)
       SELECT ?, id, 'pending', 0, ?, 0, ?, id, 0, ?, ? FROM messages WHERE topic_id = ?`,
      [
        String(subscription?.id),
        publishedAtMs,
        publishedAtMs + 86_400_000,
        publishedAtMs,
        publishedAtMs,
        String(topicId),
      ],
    );

    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, 20);
    try {
      const skip = await t.admin.seekSubscription({ name: "scale-seek", time: timestampFromMs(Date.now()) });
      expect(skip.ackedCount).toBe(BigInt(COUNT));
      expect((await t.admin.getSubscriptionStats({ name: "scale-seek" })).stats?.backlog).toBe(0n);
      const replay = await t.admin.seekSubscription({
        name: "scale-seek",
        time: timestampFromMs(publishedAtMs - 1_000),
      });
      expect(replay.requeuedCount).toBe(BigInt(COUNT));
    } finally {
      clearInterval(sampler);
    }
    // A seek that loaded the rows (let alone their payloads) at once would take well over this.
    expect(peak - baseline).toBeLessThan(60 * 1024 * 1024);
    expect((await t.admin.getSubscriptionStats({ name: "scale-seek" })).stats?.backlog).toBe(BigInt(COUNT));
  }, 300_000);

  // Runs on the backlog the case above left: every message of it pending.
  it(`snapshots ${COUNT.toLocaleString("en")} unacked messages and seeks back to them in bounded memory`, async () => {
    const knex = (t.server.store as KnexStore).knex;
    // Captured in batches; a seek to now acks it all; the seek to the snapshot brings every one back.
    await expectBoundedHeap(() => t.admin.createSnapshot({ name: "scale-snap", subscription: "scale-seek" }));
    const held = (await knex("snapshot_items").count({ n: "*" })) as { n: unknown }[];
    expect(Number(held[0]?.n)).toBe(COUNT);
    await t.admin.seekSubscription({ name: "scale-seek", time: timestampFromMs(Date.now() + 1_000) });
    expect((await t.admin.getSubscriptionStats({ name: "scale-seek" })).stats?.backlog).toBe(0n);
    const restored = await expectBoundedHeap(() =>
      t.admin.seekSubscription({ name: "scale-seek", snapshot: "scale-snap" }),
    );
    expect(restored.requeuedCount).toBe(BigInt(COUNT));
    expect((await t.admin.getSubscriptionStats({ name: "scale-seek" })).stats?.backlog).toBe(BigInt(COUNT));
  }, 300_000);
});
