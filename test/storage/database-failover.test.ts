/**
 * A DATABASE_URL with several hosts on a plain MySQL server: a first host that refuses connections
 * is skipped (the store opens, migrates and works on the next one) and the store says which host
 * it uses. The Galera scenarios (test/galera) cover nodes dying and leaving the primary component.
 */
import { afterAll, describe, expect, it } from "vitest";
import { KnexStore } from "../../src/storage/knex-store.js";
import { openStore } from "../../src/storage/open-store.js";
import { freePort } from "../support/free-port.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { createTopic } from "./conformance-setup.js";

const mysql = testDatabaseTargets().find((t) => t.kind === "mysql");

describe.skipIf(mysql === undefined)("several DATABASE_URL hosts on MySQL", () => {
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  it("skips a first host that refuses connections and reports the host in use", async () => {
    db = await (mysql as NonNullable<typeof mysql>).create();
    const real = new URL(db.url);
    const dead = await freePort();
    const url = `mysql://${real.username}@127.0.0.1:${dead},${real.hostname}:${real.port || 3306}${real.pathname}`;

    const store = await openStore({ databaseUrl: url });
    try {
      const topic = await createTopic(store);
      expect(await store.repos.topics.findByCode(topic.code)).toMatchObject({ id: topic.id });
      expect(store).toBeInstanceOf(KnexStore);
      expect(store.databaseNode?.()).toEqual({
        address: `${real.hostname}:${real.port || 3306}`,
        isPrimary: undefined,
      });
    } finally {
      await store.close();
    }
  });
});
