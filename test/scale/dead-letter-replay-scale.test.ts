/** Replay of 100,000 dead letters by filter, in bounded memory. */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadLetterService } from "../../gen/herald/v1/dead_letter_service_pb.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { text } from "../support/fixtures.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const COUNT = 100_000;
const DIGITS =
  "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "dead-letter replay at scale on %s",
  (_k, target) => {
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

    it(`replays ${COUNT.toLocaleString("en")} dead letters by filter without loading them`, async () => {
      await t.admin.createPublisher({ code: "scale", name: "scale" });
      await t.admin.createTopic({ code: "scale.t", name: "scale" });
      const subscriber = (await t.admin.createSubscriber({ clientId: 1n, name: "s" })).subscriber?.id ?? 0n;
      const { subscription } = await t.admin.createSubscription({
        name: "scale-sub",
        subscriberId: subscriber,
        topic: "scale.t",
      });
      const [messageId] = (
        await t.publisher.publish({ publisher: "scale", topic: "scale.t", messages: [{ data: text("x") }] })
      ).messageIds;
      // Bulk-create the dead letters in SQL (each with a 1 KiB payload copy), as a long outage would.
      const knex = (t.server.store as KnexStore).knex;
      const payload = "x".repeat(1024);
      await knex.raw(
        `INSERT INTO dead_letters (subscription_id, message_id, original_queue_id, attempt_count, last_error,
         failure_reason, moved_at_ms, message_data, is_resolved, created_at_ms)
       SELECT ?, ?, 1, 5, 'down', 'MAX_ATTEMPTS', ?, ?, 0, ?
       FROM ${DIGITS} a, ${DIGITS} b, ${DIGITS} c, ${DIGITS} d, ${DIGITS} e`,
        [String(subscription?.id), messageId as string, Date.now(), Buffer.from(payload), Date.now()],
      );
      const dlq = createClient(DeadLetterService, createGrpcTransport({ baseUrl: t.server.url }));
      expect((await dlq.getDeadLetterStats({ subscription: "scale-sub" })).stats?.unresolvedItems).toBe(
        BigInt(COUNT),
      );

      const baseline = process.memoryUsage().heapUsed;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }, 20);
      const { replayedCount } = await dlq.replayDeadLetters({
        filter: { subscription: "scale-sub" },
        resolvedBy: "bulk",
      });
      clearInterval(sampler);
      expect(replayedCount).toBe(BigInt(COUNT));
      // Loading the rows (with their 1 KiB payloads) would take well over 100 MB.
      expect(peak - baseline).toBeLessThan(60 * 1024 * 1024);
      const stats = await t.admin.getSubscriptionStats({ name: "scale-sub" });
      expect(stats.stats?.backlog).toBe(BigInt(COUNT + 1));
      expect((await dlq.getDeadLetterStats({ subscription: "scale-sub" })).stats?.unresolvedItems).toBe(0n);
    }, 180_000);
  },
);
