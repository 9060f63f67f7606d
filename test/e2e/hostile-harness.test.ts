/**
 * The hostile-input suite is only as good as its checks: these tests show that each check can fail
 * (leaks in messages, database changes after a rejected call, a wrong status, a dead server).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { DatabaseWatcher, snapshotDatabase, snapshotDifferences } from "../support/database-snapshot.js";
import { HostileRunner } from "../support/hostile-runner.js";
import { RawHttp2Client } from "../support/raw-http2-client.js";
import { leaksIn } from "../support/rpc-outcome.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe("leaksIn", () => {
  it.each([
    ["a stack frame", "boom\n    at Object.<anonymous> (/work/main/src/app/x.ts:3:9)", "stack frame"],
    ["an absolute path", "cannot open /home/herald/data/herald.db", "file path"],
    ["a source location", "failed in knex-store.ts:42", "source location"],
    ["a SQLite error code", "SQLITE_CONSTRAINT_UNIQUE: UNIQUE constraint failed", "SQLite error code"],
    ["a MySQL error code", "ER_DUP_ENTRY: Duplicate entry 'x' for key", "MySQL error code"],
    ["a SQL statement", "insert into `topics` (`code`) values ('x')", "SQL statement"],
    ["a driver name", "mysql2 connection lost", "driver name"],
    ["a JavaScript error", "TypeError: Cannot read properties of undefined", "JavaScript error"],
  ])("finds %s", (_what, message, kind) => {
    expect(leaksIn(message, [])).toContain(kind);
  });

  it("ignores the client's own text echoed back, and ordinary messages", () => {
    const input = "x' UNION SELECT signing_secret FROM subscribers --";
    expect(leaksIn(`topic "${input}" not found`, [input])).toEqual([]);
    expect(leaksIn("page_token: is not a token of this list", [])).toEqual([]);
    expect(leaksIn("internal error", [])).toEqual([]);
  });
});

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "hostile-input checks on %s",
  (_kind, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let raw: RawHttp2Client;
    let healthRaw: RawHttp2Client;
    let runner: HostileRunner;
    const knex = () => (t.server.store as KnexStore).knex;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, { sweepIntervalMs: 3_600_000, retentionIntervalMs: 3_600_000 });
      raw = new RawHttp2Client(t.server.url);
      healthRaw = new RawHttp2Client(t.server.url);
      runner = new HostileRunner({ raw, healthRaw, knex: knex() });
      await t.admin.createPublisher({ code: "harness-pub", name: "before" });
    });
    afterAll(async () => {
      raw?.close();
      healthRaw?.close();
      await t?.stop();
      await db?.drop();
    });

    it("snapshots notice an inserted, an updated and a deleted row, and nothing else", async () => {
      const before = await snapshotDatabase(knex());
      expect(snapshotDifferences(before, await snapshotDatabase(knex()))).toEqual([]);
      await knex()("publishers").where({ code: "harness-pub" }).update({ name: "after" });
      const updated = await snapshotDatabase(knex());
      expect(snapshotDifferences(before, updated)).toEqual(["publishers: row contents changed"]);
      await t.admin.createTopic({ code: "harness.topic", name: "t" });
      const inserted = await snapshotDatabase(knex());
      expect(snapshotDifferences(updated, inserted)).toEqual(["topics: 0 → 1 rows"]);
      await t.admin.deleteTopic({ code: "harness.topic" });
      expect(snapshotDifferences(inserted, await snapshotDatabase(knex()))).toEqual(["topics: 1 → 0 rows"]);
    });

    it("the watcher reuses a snapshot only while nothing was written", async () => {
      const watcher = new DatabaseWatcher(knex());
      const first = await watcher.snapshot();
      expect(snapshotDifferences(first, await watcher.snapshot())).toEqual([]);
      await knex()("publishers").where({ code: "harness-pub" }).update({ description: "changed" });
      expect(snapshotDifferences(first, await watcher.snapshot())).toEqual([
        "publishers: row contents changed",
      ]);
    });

    it("flags a rejected call that wrote, a wrong status and a read-only call that wrote", async () => {
      await runner.resync();
      const writesThenFails = await runner.runCall(
        "writes, then answers INVALID_ARGUMENT",
        async () => {
          await knex()("publishers").where({ code: "harness-pub" }).update({ name: "sneaky" });
          throw new ConnectError("bad input", Code.InvalidArgument);
        },
        { mutating: true },
      );
      expect(writesThenFails.problems.join("\n")).toMatch(/rejected call changed the database: publishers/);

      const readWrites = await runner.runCall(
        "a read that writes",
        () => t.admin.createTopic({ code: "harness.read", name: "r" }),
        {
          mutating: false,
        },
      );
      expect(readWrites.problems.join("\n")).toMatch(/read-only call changed the database: topics/);

      const wrongCode = await runner.runCall(
        "expects NOT_FOUND",
        () => t.admin.getTopic({ code: "harness.read" }),
        {
          mutating: false,
          expectCodes: [Code.NotFound],
        },
      );
      expect(wrongCode.problems).toEqual(['expected NotFound, got OK ""']);

      const internal = await runner.runCall(
        "answers INTERNAL with a stack",
        () => Promise.reject(new ConnectError("boom\n    at f (/work/main/src/x.ts:1:1)", Code.Internal)),
        { mutating: false },
      );
      expect(internal.problems.join("\n")).toMatch(/server-fault status Internal/);
      expect(internal.problems.join("\n")).toMatch(/message leaks stack frame, file path, source location/);
    });

    it("flags a server that stopped answering health Check", async () => {
      const otherDb = await target.create();
      const stopped = await startTestServer(otherDb, { sweepIntervalMs: 3_600_000 });
      const deadHealth = new RawHttp2Client(stopped.server.url);
      const probe = new HostileRunner({ raw, healthRaw: deadHealth, knex: knex() });
      await stopped.stop();
      await otherDb.drop();
      const result = await probe.runCall(
        "after the server went away",
        () => t.admin.getPublisher({ code: "harness-pub" }),
        {
          mutating: false,
        },
      );
      deadHealth.close();
      expect(result.problems.join("\n")).toMatch(/health Check failed afterwards/);
    });
  },
);
