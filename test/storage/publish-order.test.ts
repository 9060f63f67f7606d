/**
 * Ordering across instances (MySQL): two connections publish the same ordering key at once. Ids
 * are taken at INSERT and become visible at COMMIT, so without a lock the second connection could
 * take id 11, commit first, and a consumer would be handed 11 before 10 exists. The publish
 * transaction locks the key's slot before inserting: the second publish of the key waits for the
 * first to commit, and the claim order of the key is its commit order. SQLite has one writer per
 * file (a second connection's write waits for the first commit), so the test runs on MySQL only.
 */
import knexFactory, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Repositories, Store } from "../../src/app/ports/store.js";
import { storePublishBatch } from "../../src/app/publish/publish-batch.js";
import type { OutgoingMessage } from "../../src/domain/message.js";
import { openStore } from "../../src/storage/open-store.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  NOW_MS,
} from "./conformance-setup.js";

const mysqlTarget = testDatabaseTargets().find((t) => t.kind === "mysql");

describe.skipIf(mysqlTarget === undefined)(
  "publish order of one ordering key across connections (MySQL)",
  () => {
    let db: TestDatabase;
    let first: Store;
    let second: Store;
    let observer: Knex;

    beforeAll(async () => {
      db = await (mysqlTarget as NonNullable<typeof mysqlTarget>).create();
      first = await openStore({ databaseUrl: db.url });
      second = await openStore({ databaseUrl: db.url, migrate: false });
      observer = knexFactory({ client: "mysql2", connection: db.url, pool: { min: 0, max: 1 } });
    }, 60_000);

    afterAll(async () => {
      await first?.close();
      await second?.close();
      await observer?.destroy();
      await db?.drop();
    });

    const message = (data: string, orderingKey: string): OutgoingMessage => ({
      data: new TextEncoder().encode(data),
      attributes: {},
      orderingKey,
      identifier: "",
      dedupId: "",
    });

    /** Transactions on this test's database waiting for a row lock, seen from a third connection. */
    async function lockWaits(): Promise<number> {
      const [rows] = (await observer.raw(
        `SELECT COUNT(*) AS n FROM information_schema.innodb_trx t
       JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id
       WHERE t.trx_state = 'LOCK WAIT' AND p.db = ?`,
        [new URL(db.url).pathname.slice(1)],
      )) as [{ n: unknown }[]];
      return Number(rows[0]?.n);
    }

    it("makes a second publish of the key wait for the first one's commit, so claim order is commit order", async () => {
      const topic = await createTopic(first);
      const publisher = await createPublisher(first);
      const subscriber = await createSubscriber(first);
      const subscription = await createSubscription(first, {
        topicId: topic.id,
        subscriberId: subscriber.id,
        deliveryType: "pull",
        enableOrdering: true,
      });
      /** One publish transaction; `hold` learns when it has inserted and decides when it may commit. */
      const publishOn = (
        store: Store,
        data: string,
        key: string,
        hold?: { inserted: () => void; mayCommit: Promise<void> },
      ) =>
        store.transaction(async (repos: Repositories) => {
          const {
            messageIds: [ids],
          } = await storePublishBatch(
            repos,
            [{ publisherId: publisher.id, topicId: topic.id, messages: [message(data, key)] }],
            NOW_MS,
            60_000,
          );
          hold?.inserted();
          await hold?.mayCommit;
          return (ids as bigint[])[0] as bigint;
        });

      let commitFirst: () => void = () => undefined;
      const mayCommit = new Promise<void>((resolve) => {
        commitFirst = resolve;
      });
      let inserted: () => void = () => undefined;
      const hasInserted = new Promise<void>((resolve) => {
        inserted = resolve;
      });
      // The first publish inserts its message and holds its transaction open.
      const firstId = publishOn(first, "first", "key-K", { inserted, mayCommit });
      try {
        await hasInserted;
        // A publish of another key is not held up.
        expect(await publishOn(second, "other key", "key-L")).toBeGreaterThan(0n);
      } catch (error) {
        commitFirst();
        throw error;
      }

      let secondDone = false;
      const secondId = publishOn(second, "second", "key-K").finally(() => {
        secondDone = true;
      });
      try {
        // The second publish of key-K must wait for a lock while the first transaction is open:
        // seen as a lock wait, or (when the server is too busy to show one in time) as not having
        // committed a second after it started — unlocked, it commits in milliseconds.
        const started = Date.now();
        await waitFor(async () => {
          if (secondDone)
            throw new Error("the second publish of key-K committed while the first was still open");
          return (await lockWaits()) > 0 || Date.now() - started > 1_000;
        });
        expect(secondDone).toBe(false);
      } finally {
        commitFirst();
      }
      const [a, b] = await Promise.all([firstId, secondId]);
      expect(b).toBeGreaterThan(a);

      // Claims hand out key-K in commit order: the first message, and the second only after it.
      const claimed = await first.transaction((repos) =>
        repos.deliveries.lockClaimable({
          subscriptionId: subscription.id,
          ordered: true,
          limit: 10,
          nowMs: NOW_MS,
        }),
      );
      expect(claimed.map((row) => row.messageId)).toContain(a);
      expect(claimed.map((row) => row.messageId)).not.toContain(b);
    }, 30_000);
  },
);

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
