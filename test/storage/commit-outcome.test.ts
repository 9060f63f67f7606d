/**
 * A transaction whose connection is lost after its work finished (during the COMMIT) may or may
 * not be stored: Store.transaction reports COMMIT_OUTCOME_UNKNOWN (UNAVAILABLE) and does not run
 * the work again, while a connection lost before the work finished is an ordinary unavailable
 * error (nothing was stored). MySQL through a TCP proxy the test cuts: SQLite has no connection to lose.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isCommitOutcomeUnknown, type Store } from "../../src/app/ports/store.js";
import { isDomainError } from "../../src/domain/domain-error.js";
import { openStore } from "../../src/storage/open-store.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { NOW_MS, unique } from "./conformance-setup.js";

const mysqlTarget = testDatabaseTargets().find((t) => t.kind === "mysql");

describe.skipIf(mysqlTarget === undefined)("commit outcome on MySQL", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let store: Store;
  let direct: Store;

  beforeAll(async () => {
    db = await (mysqlTarget as NonNullable<typeof mysqlTarget>).create();
    direct = await openStore({ databaseUrl: db.url });
    const real = new URL(db.url);
    proxy = await startTcpProxy({
      upstreamHost: real.hostname,
      upstreamPort: real.port === "" ? 3306 : Number(real.port),
    });
    const proxied = new URL(db.url);
    proxied.hostname = "127.0.0.1";
    proxied.port = String(proxy.port);
    store = await openStore({ databaseUrl: proxied.toString(), migrate: false });
  }, 60_000);

  afterAll(async () => {
    await proxy?.restore();
    await store?.close();
    await direct?.close();
    await proxy?.close();
    await db?.drop();
  });

  it("reports COMMIT_OUTCOME_UNKNOWN, without running the work again, when the connection is lost at the commit", async () => {
    await proxy.restore();
    const code = unique("commit-lost");
    let runs = 0;
    const outcome = await store
      .transaction(async (repos) => {
        runs += 1;
        await repos.topics.insert({ code, name: "n", description: "" }, NOW_MS);
        // The work is done; the COMMIT that follows finds its connection gone.
        proxy.cut("reset");
      })
      .then(
        () => "committed",
        (error: unknown) => error,
      );
    expect(isCommitOutcomeUnknown(outcome)).toBe(true);
    expect(isDomainError(outcome) && outcome.kind).toBe("unavailable");
    expect(runs).toBe(1);
  });

  it("reports an ordinary unavailable error when the connection is lost before the work finished", async () => {
    await proxy.restore();
    const outcome = await store
      .transaction(async (repos) => {
        proxy.cut("reset");
        await repos.topics.insert({ code: unique("work-lost"), name: "n", description: "" }, NOW_MS);
      })
      .then(
        () => "committed",
        (error: unknown) => error,
      );
    expect(isCommitOutcomeUnknown(outcome)).toBe(false);
    expect(store.isUnavailable(outcome)).toBe(true);
  });
});
