/**
 * Migration 0004 on every test database: down then up again gives forwards that were waiting at
 * upgrade a random dedup token each (they had none), and keeps the outbox rows.
 */
import { describe, expect, it } from "vitest";
import { createMigrationSource } from "../../src/storage/migrations/migration-source.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  deadLetterItems,
  messageToStore,
  NOW_MS,
  useConformanceStore,
} from "./conformance-setup.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "migration 0004 on %s",
  (_k, target) => {
    const store = useConformanceStore(target);

    it("backfills random dedup tokens for forwards waiting at upgrade, and rolls back cleanly", async () => {
      const s = store();
      const deadTopic = await createTopic(s);
      const topic = await createTopic(s);
      const publisher = await createPublisher(s);
      const subscriber = await createSubscriber(s);
      const sub = await createSubscription(s, {
        topicId: topic.id,
        subscriberId: subscriber.id,
        deadLetterTopicId: deadTopic.id,
      });
      const messageIds = await s.repos.messages.insertMany([
        messageToStore(topic.id, publisher.id),
        messageToStore(topic.id, publisher.id),
      ]);
      await s.repos.queue.fanOut(messageIds, NOW_MS);
      const rows = (await Promise.all(messageIds.map((id) => s.repos.queue.listByMessage(id)))).flat();
      await deadLetterItems(
        s,
        rows.map((r) => r.id),
        NOW_MS,
        { attemptCount: 5, lastError: "x", firstAttemptAtMs: null, lastAttemptAtMs: null },
      );
      expect(await s.repos.deadLetters.listBySubscription(sub.id)).toHaveLength(2);

      const config = { migrationSource: createMigrationSource(s.dialect) };
      // Later migrations stay applied: only 0004 is rolled back and re-applied.
      await s.knex.migrate.down({ ...config, name: "0004-dead-letter-forward-tokens" });
      expect(await s.knex.schema.hasColumn("dead_letter_forwards", "dedup_token")).toBe(false);
      await s.knex.migrate.latest(config);

      const pending = await s.repos.deadLetterForwards.listPending(10);
      expect(pending).toHaveLength(2);
      for (const f of pending) expect(f.dedupToken).toMatch(/^[0-9a-f]{32}$/);
      expect(new Set(pending.map((f) => f.dedupToken)).size).toBe(2);
    });
  },
);
