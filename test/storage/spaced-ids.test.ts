/**
 * Herald on a MySQL server whose auto-increment ids are spaced (auto_increment_increment = 3,
 * offset = 2, as a Galera node of a 3-node cluster has them): publish fan-out, dedup, claims with
 * acks, dead-letter replay and purge all use the ids the server really gave. Before the fix Herald
 * refused to start on such a server; computing ids as a contiguous block would attach queue rows
 * to other messages (or to none). Both ways of reading the ids back run: `INSERT … RETURNING`
 * (MariaDB) and one statement per row (MySQL, which has no RETURNING).
 */
import knexFactory, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryService } from "../../src/app/consume/delivery-service.js";
import { DeadLetterAdmin } from "../../src/app/dead-letters/dead-letter-admin.js";
import { PublishMessages } from "../../src/app/publish/publish-messages.js";
import { parseDatabaseUrl } from "../../src/config/database-url.js";
import { FakeClock } from "../../src/domain/clock.js";
import type { OutgoingMessage } from "../../src/domain/message.js";
import { type Dialect, mysqlDialectFor } from "../../src/storage/dialect.js";
import { KnexStore } from "../../src/storage/knex-store.js";
import { migrateLatest } from "../../src/storage/open-store.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import { outgoing } from "../use-cases/use-case-world.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  NOW_MS,
} from "./conformance-setup.js";

const mysql = testDatabaseTargets().find((t) => t.kind === "mysql");
const INCREMENT = 3;
const OFFSET = 2;

/** The MySQL dialect as openStore picks it for MariaDB 10.11, and as it would for MySQL 8. */
const variants: [string, Dialect][] = [
  ["INSERT … RETURNING (MariaDB)", mysqlDialectFor("10.11.6-MariaDB")],
  ["one insert per row (MySQL)", mysqlDialectFor("8.0.36")],
];

describe.skipIf(mysql === undefined).each(variants)("spaced auto-increment ids, %s", (_name, dialect) => {
  let drop: (() => Promise<void>) | undefined;
  let knex: Knex | undefined;
  let store: KnexStore | undefined;

  beforeAll(async () => {
    const db = await (mysql as NonNullable<typeof mysql>).create();
    drop = db.drop;
    const target = parseDatabaseUrl(db.url);
    if (target.kind !== "mysql") throw new Error("expected a mysql url");
    const admin = knexFactory({
      client: "mysql2",
      connection: { host: target.host, port: target.port, user: target.user, password: target.password },
    });
    await admin.raw("CREATE DATABASE ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", [target.database]);
    await admin.destroy();
    knex = knexFactory({
      client: "mysql2",
      connection: {
        ...target,
        supportBigNumbers: true,
        bigNumberStrings: true,
        timezone: "Z",
        charset: "utf8mb4",
      },
      pool: {
        min: 0,
        max: 4,
        // Every connection spaces its ids as a Galera node does (the shared server is left alone).
        afterCreate: (
          conn: { query: (sql: string, cb: (err: unknown) => void) => void },
          done: (err: unknown, conn: unknown) => void,
        ) => {
          conn.query(
            `SET SESSION auto_increment_increment = ${INCREMENT}, auto_increment_offset = ${OFFSET}, SESSION tx_isolation = 'READ-COMMITTED'`,
            (err) => done(err, conn),
          );
        },
      },
    });
    await migrateLatest(knex, dialect);
    store = new KnexStore(knex, dialect);
  });

  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  async function world() {
    const s = store as KnexStore;
    const clock = new FakeClock(NOW_MS);
    const publisher = await createPublisher(s);
    const topic = await createTopic(s);
    const subscriber = await createSubscriber(s);
    const publishing = new PublishMessages(s, clock, 60_000);
    const publish = async (...messages: OutgoingMessage[]) =>
      (await publishing.publish({ publisher: publisher.code, topic: topic.code, messages })).messageIds;
    const subscribe = (maxDeliveryAttempts = 5) =>
      createSubscription(
        s,
        { topicId: topic.id, subscriberId: subscriber.id, deliveryType: "pull", maxDeliveryAttempts },
        clock.nowMs(),
      );
    return { s, clock, publish, subscribe, delivery: new DeliveryService(s, clock, () => 0.5) };
  }

  it("gives every message of a multi-row publish the id the server assigned, spaced by the increment", async () => {
    const w = await world();
    const ids = await w.publish(...Array.from({ length: 50 }, (_, i) => outgoing(`m-${i}`)));

    const stored = await w.s.repos.messages.findMany(ids);
    expect(ids.map((id) => new TextDecoder().decode(stored.get(id)?.data))).toEqual(
      Array.from({ length: 50 }, (_, i) => `m-${i}`),
    );
    for (const id of ids) expect(Number(id % BigInt(INCREMENT))).toBe(OFFSET % INCREMENT);
    expect(new Set(ids).size).toBe(50);
  });

  it("fans a publish out to every subscription, claims each message once and acks it", async () => {
    const w = await world();
    const subs = [await w.subscribe(), await w.subscribe()];
    const ids = await w.publish(...Array.from({ length: 30 }, (_, i) => outgoing(`fan-${i}`)));

    for (const sub of subs) {
      const claimed = await w.delivery.claim(sub, { owner: "t", method: "pull", max: 100, leaseMs: 30_000 });
      expect(claimed.map((d) => d.message.id)).toEqual(ids);
      expect(claimed.map((d) => new TextDecoder().decode(d.message.data))).toEqual(
        Array.from({ length: 30 }, (_, i) => `fan-${i}`),
      );
      const outcome = await w.delivery.acknowledge(
        sub,
        claimed.map((d) => d.ackId),
      );
      expect(outcome.invalidAckIds).toEqual([]);
      expect(await w.delivery.claim(sub, { owner: "t", method: "pull", max: 100, leaseMs: 30_000 })).toEqual(
        [],
      );
    }
  });

  it("answers a repeated dedup id with the id of the message first published under it", async () => {
    const w = await world();
    const sub = await w.subscribe();
    const first = await w.publish(outgoing("a", { dedupId: "d-1" }), outgoing("b", { dedupId: "d-2" }));
    const again = await w.publish(outgoing("b2", { dedupId: "d-2" }), outgoing("c", { dedupId: "d-3" }));

    expect(again[0]).toBe(first[1]);
    const claimed = await w.delivery.claim(sub, { owner: "t", method: "pull", max: 100, leaseMs: 30_000 });
    expect(claimed.map((d) => new TextDecoder().decode(d.message.data))).toEqual(["a", "b", "c"]);
  });

  it("replays dead letters onto the right messages and purges them", async () => {
    const w = await world();
    const sub = await w.subscribe(1);
    const ids = await w.publish(...Array.from({ length: 5 }, (_, i) => outgoing(`poison-${i}`)));
    const claimed = await w.delivery.claim(sub, { owner: "t", method: "pull", max: 100, leaseMs: 30_000 });
    await w.delivery.modifyAckDeadline(
      sub,
      claimed.map((d) => d.ackId),
      0,
    );
    const letters = await w.s.repos.deadLetters.listBySubscription(sub.id);
    expect(letters.map((d) => d.messageId).sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);

    const admin = new DeadLetterAdmin(w.s, w.clock);
    const replayed = await admin.replay({
      ids: letters.map((d) => d.id),
      filter: undefined,
      force: false,
      resolvedBy: "ops",
    });
    expect(replayed).toBe(5);
    const again = await w.delivery.claim(sub, { owner: "t", method: "pull", max: 100, leaseMs: 30_000 });
    expect(again.map((d) => d.message.id)).toEqual(ids);
    expect(again.map((d) => d.deliveryAttempt)).toEqual([1, 1, 1, 1, 1]);

    w.clock.advanceMs(1_000);
    const purged = await admin.purge({
      olderThanMs: undefined,
      includeUnresolved: true,
      subscription: sub.name,
    });
    expect(purged).toBe(5);
    expect((await admin.stats(sub.name)).totalItems).toBe(0);
  });
});
