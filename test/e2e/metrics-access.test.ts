/**
 * L5: the metrics port can require a bearer token, warns when bound beyond loopback, and can leave
 * topic and subscription names out of its series. Transport and rendering only: SQLite.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createJsonLogger } from "../../src/logger.js";
import { createFixture, text } from "../support/fixtures.js";
import {
  type TestDatabase,
  type TestDatabaseTarget,
  testDatabaseTargets,
} from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const sqlite = testDatabaseTargets().find((t) => t.kind === "sqlite") as TestDatabaseTarget;
const TOKEN = "metrics-token-0123456789abcdef";

describe("metrics access", () => {
  let db: TestDatabase | undefined;
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.stop();
    await db?.drop();
    t = undefined;
    db = undefined;
  });

  async function start(env: Record<string, string>, logLines: string[] = []): Promise<TestServer> {
    db = await sqlite.create();
    t = await startTestServer(db, {}, { env, logger: createJsonLogger("info", (l) => logLines.push(l)) });
    return t;
  }

  it("requires HERALD_METRICS_TOKEN as a bearer token when set", async () => {
    const server = await start({ HERALD_METRICS_ADDR: "127.0.0.1:0", HERALD_METRICS_TOKEN: TOKEN });
    const url = server.server.metricsUrl as string;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await fetch(url, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status).toBe(
      401,
    );
    const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("herald_open_streams");
  });

  it("warns when the metrics port is bound beyond loopback", async () => {
    const lines: string[] = [];
    await start({ HERALD_METRICS_ADDR: "0.0.0.0:0" }, lines);
    const warning = lines
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === "the metrics port is reachable beyond this machine");
    expect(warning?.level).toBe("warn");
    expect(warning?.tokenRequired).toBe(false);
    const quiet: string[] = [];
    await t?.stop();
    await db?.drop();
    await start({ HERALD_METRICS_ADDR: "127.0.0.1:0" }, quiet);
    expect(quiet.join("\n")).not.toContain("reachable beyond this machine");
  });

  it("leaves topic and subscription names out with HERALD_METRICS_NAME_LABELS=false", async () => {
    const server = await start({ HERALD_METRICS_ADDR: "127.0.0.1:0", HERALD_METRICS_NAME_LABELS: "false" });
    const f = await createFixture(server);
    await f.publish([{ data: text("a") }, { data: text("b") }]);
    const body = await (await fetch(server.server.metricsUrl as string)).text();
    expect(body).not.toContain(f.topic);
    expect(body).not.toContain(f.subscription);
    expect(body).toContain('herald_published_messages_total{topic="*"} 2');
    expect(body).toContain('herald_subscription_backlog{subscription="*"} 2');
  });
});
