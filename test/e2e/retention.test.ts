import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../src/domain/clock.js";
import { createJsonLogger } from "../../src/logger.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { createFixture, text } from "../support/fixtures.js";
import { eventually } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const HOUR_MS = 3_600_000;
const DEFAULT_RETENTION_MS = 168 * HOUR_MS;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "retention pruning on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    // Ages follow this clock; the test moves it a week instead of waiting one.
    const clock = new FakeClock(Date.now());

    beforeAll(async () => {
      db = await target.create();
      // Neither background loop may run on its own here: the test calls pruneNow itself.
      t = await startTestServer(
        db,
        { sweepIntervalMs: 3_600_000, retentionIntervalMs: 3_600_000 },
        { clock },
      );
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    const pull = async (subscription: string, maxMessages: number) =>
      (await t.subscriber.pull({ subscription, maxMessages })).receivedMessages;
    const repos = () => t.server.store.repos;
    const dedupRows = async (dedupId: string) =>
      (await (t.server.store as KnexStore).knex("message_dedup").where("dedup_id", dedupId)).length;

    it("after the default retention deletes delivered rows, their logs and messages, and expired dedup entries", async () => {
      const f = await createFixture(t, {
        maxDeliveryAttempts: 1,
        // Far beyond the retention: the pending message must still be pending a week later.
        messageTtl: { seconds: 31n * 24n * 3600n },
      });
      const sent = await f.publish([{ data: text("a"), dedupId: "evt-old" }, { data: text("b") }]);
      const delivered = await pull(f.subscription, 10);
      expect(delivered).toHaveLength(2);
      await t.subscriber.acknowledge({ subscription: f.subscription, ackIds: delivered.map((m) => m.ackId) });
      const [poison] = await f.publish([{ data: text("poison") }]);
      const [poisoned] = await pull(f.subscription, 10);
      await t.subscriber.modifyAckDeadline({
        subscription: f.subscription,
        ackIds: [poisoned?.ackId ?? ""],
        ackDeadlineSeconds: 0,
      });
      const [pending] = await f.publish([{ data: text("never pulled") }]);
      const subscription = await repos().subscriptions.findByName(f.subscription);
      const subscriptionId = subscription?.id ?? 0n;
      expect(await repos().deadLetters.listBySubscription(subscriptionId)).toHaveLength(1);

      clock.advanceMs(DEFAULT_RETENTION_MS + 60_000);
      const g = await createFixture(t);
      const [recent] = await g.publish([{ data: text("recent"), dedupId: "evt-new" }]);
      const recentDelivery = await pull(g.subscription, 10);
      await t.subscriber.acknowledge({
        subscription: g.subscription,
        ackIds: recentDelivery.map((m) => m.ackId),
      });

      const result = await t.server.pruneNow();

      // Two acked rows and the dead-lettered row; their three log rows; the two acked messages.
      expect(result).toEqual({
        queueItems: 3,
        notificationLogs: 3,
        messages: 2,
        dedupEntries: 1,
        snapshots: 0,
      });
      for (const id of sent) {
        expect(await repos().messages.findById(BigInt(id))).toBeUndefined();
        expect(await repos().queue.listByMessage(BigInt(id))).toEqual([]);
        expect(await repos().notificationLogs.listByMessage(BigInt(id))).toEqual([]);
      }
      expect(await dedupRows("evt-old")).toBe(0);
      // The dead letter and its message stay until purged; only its finished queue row and log go.
      const dead = await repos().deadLetters.listBySubscription(subscriptionId);
      expect(dead.map((d) => d.messageId)).toEqual([BigInt(poison as string)]);
      expect(await repos().messages.findById(BigInt(poison as string))).toBeDefined();
      expect(await repos().queue.listByMessage(BigInt(poison as string))).toEqual([]);
      // The pending message keeps its row and its message.
      expect((await repos().queue.listByMessage(BigInt(pending as string))).map((r) => r.status)).toEqual([
        "pending",
      ]);
      expect(await repos().messages.findById(BigInt(pending as string))).toBeDefined();
      // Recent rows stay.
      expect((await repos().queue.listByMessage(BigInt(recent as string))).map((r) => r.status)).toEqual([
        "sent",
      ]);
      expect(await repos().notificationLogs.listByMessage(BigInt(recent as string))).toHaveLength(1);
      expect(await repos().messages.findById(BigInt(recent as string))).toBeDefined();
      expect(await dedupRows("evt-new")).toBe(1);
      // Nothing more is old enough.
      expect(await t.server.pruneNow()).toEqual({
        queueItems: 0,
        notificationLogs: 0,
        messages: 0,
        dedupEntries: 0,
        snapshots: 0,
      });
    });

    it("keeps pending rows and their messages however old they are", async () => {
      const f = await createFixture(t, { messageTtl: { seconds: 31n * 24n * 3600n } });
      const [id] = await f.publish([{ data: text("waiting") }]);
      clock.advanceMs(DEFAULT_RETENTION_MS * 2);
      await t.server.pruneNow();
      expect((await repos().queue.listByMessage(BigInt(id as string))).map((r) => r.status)).toEqual([
        "pending",
      ]);
      expect(await repos().messages.findById(BigInt(id as string))).toBeDefined();
      expect(await pull(f.subscription, 10)).toHaveLength(1);
    });
  },
);

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "retention interval on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer | undefined;
    afterEach(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("prunes on HERALD_RETENTION_INTERVAL_MS with HERALD_RETENTION_HOURS and logs the counts at debug", async () => {
      db = await target.create();
      const clock = new FakeClock(Date.now());
      const lines: string[] = [];
      t = await startTestServer(
        db,
        {},
        {
          clock,
          logger: createJsonLogger("debug", (line) => lines.push(line)),
          env: { HERALD_RETENTION_HOURS: "1", HERALD_RETENTION_INTERVAL_MS: "1000" },
        },
      );
      const f = await createFixture(t);
      const [id] = await f.publish([{ data: text("x") }]);
      const [received] = await pull(f.subscription, 1);
      await t.subscriber.acknowledge({ subscription: f.subscription, ackIds: [received?.ackId ?? ""] });
      clock.advanceMs(HOUR_MS + 1);

      // The run logs once it has finished every kind.
      const prunes = () => lines.map((l) => JSON.parse(l)).filter((e) => e.msg === "retention prune");
      const pruned = await eventually(
        async () => prunes().find((e) => e.messages > 0),
        (entry) => entry !== undefined,
        10_000,
        "the interval prune",
      );
      expect(await t.server.store.repos.messages.findById(BigInt(id as string))).toBeUndefined();
      expect(pruned).toMatchObject({ level: "debug", queueItems: 1, notificationLogs: 1, messages: 1 });
    });

    async function pull(subscription: string, maxMessages: number) {
      return (await (t as TestServer).subscriber.pull({ subscription, maxMessages })).receivedMessages;
    }
  },
);
