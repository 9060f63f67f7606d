import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJsonLogger } from "../../src/logger.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { createFixture, text } from "../support/fixtures.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

interface LogLine {
  level: string;
  msg: string;
  requestId?: string;
  procedure?: string;
  code?: string;
  durationMs?: number;
}

const SECRET_DATA = "payload-that-must-not-be-logged";
const SECRET_ATTRIBUTE = "attribute-value-that-must-not-be-logged";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A server at debug level whose JSON log lines the test reads. */
async function startLoggedServer(db: TestDatabase) {
  const lines: string[] = [];
  const t = await startTestServer(db, {}, { logger: createJsonLogger("debug", (line) => lines.push(line)) });
  const parsed = () => lines.map((line) => JSON.parse(line) as LogLine);
  return { t, lines, parsed };
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "Request ids and request logs on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let lines: string[];
    let parsed: () => LogLine[];

    beforeAll(async () => {
      db = await target.create();
      ({ t, lines, parsed } = await startLoggedServer(db));
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    const rpcLines = (requestId: string) =>
      parsed().filter((l) => l.msg === "rpc" && l.requestId === requestId);

    it("keeps a caller's x-request-id, returns it, and logs one debug line with procedure, code and duration", async () => {
      let returned: string | null = null;
      await t.admin.createPublisher(
        { code: "req-id-pub", name: "p" },
        { headers: { "x-request-id": "caller-id-42" }, onHeader: (h) => (returned = h.get("x-request-id")) },
      );
      expect(returned).toBe("caller-id-42");
      const logged = rpcLines("caller-id-42");
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({
        level: "debug",
        procedure: "herald.v1.AdminService/CreatePublisher",
        code: "OK",
      });
      expect(logged[0]?.durationMs).toBeGreaterThanOrEqual(0);
    });

    it.each([
      ["too long", "x".repeat(65)],
      ["with spaces", "has spaces"],
    ])("replaces an incoming id that is %s with a generated one", async (_why, incoming) => {
      let returned: string | null = null;
      await t.admin.listTopics(
        {},
        { headers: { "x-request-id": incoming }, onHeader: (h) => (returned = h.get("x-request-id")) },
      );
      expect(returned).toMatch(UUID);
      expect(rpcLines(returned as unknown as string)).toHaveLength(1);
    });

    it("generates distinct ids when the caller sends none", async () => {
      const ids: (string | null)[] = [];
      for (let i = 0; i < 2; i++)
        await t.admin.listTopics({}, { onHeader: (h) => ids.push(h.get("x-request-id")) });
      expect(ids[0]).toMatch(UUID);
      expect(ids[1]).toMatch(UUID);
      expect(ids[0]).not.toBe(ids[1]);
    });

    it("returns the id with an error and logs the error's code", async () => {
      const error = await t.admin
        .getTopic({ code: "no-such-topic" }, { headers: { "x-request-id": "missing-1" } })
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(error?.code).toBe(Code.NotFound);
      expect(error?.metadata.get("x-request-id")).toBe("missing-1");
      expect(rpcLines("missing-1")).toMatchObject([
        { procedure: "herald.v1.AdminService/GetTopic", code: "NOT_FOUND" },
      ]);
      expect(parsed().filter((l) => l.level === "warn" && l.requestId === "missing-1")).toEqual([]);
    });

    it("logs a stream once, when it ends, and sets the id on the stream's response", async () => {
      const f = await createFixture(t);
      const abort = new AbortController();
      let returned: string | null = null;
      const stream = t.subscriber.subscribe(
        { subscription: f.subscription },
        {
          signal: abort.signal,
          headers: { "x-request-id": "stream-1" },
          onHeader: (h) => (returned = h.get("x-request-id")),
        },
      );
      const iterator = stream[Symbol.asyncIterator]();
      await f.publish([{ data: text("s") }]);
      await iterator.next();
      expect(returned).toBe("stream-1");
      expect(rpcLines("stream-1")).toEqual([]);
      abort.abort();
      await iterator.next().catch(() => undefined);
      await expect
        .poll(() => rpcLines("stream-1"))
        .toMatchObject([{ procedure: "herald.v1.SubscriberService/Subscribe", code: "CANCELED" }]);
    });

    it("never logs message data, attribute values, ack ids or signing secrets", async () => {
      const f = await createFixture(t);
      const created = await t.admin.createSubscriber({ clientId: 7n, name: "secret-check" });
      await f.publish([
        { data: text(SECRET_DATA), attributes: { plan: SECRET_ATTRIBUTE }, identifier: "i-1" },
      ]);
      const pulled = await t.subscriber.pull({ subscription: f.subscription, maxMessages: 1 });
      const ackId = pulled.receivedMessages[0]?.ackId ?? "";
      expect(ackId).not.toBe("");
      await t.subscriber.acknowledge({ subscription: f.subscription, ackIds: [ackId] });
      const all = lines.join("");
      expect(all).toContain("herald.v1.PublisherService/Publish");
      for (const secret of [SECRET_DATA, SECRET_ATTRIBUTE, ackId, created.signingSecret]) {
        expect(secret.length).toBeGreaterThan(0);
        expect(all).not.toContain(secret);
      }
    });
  },
);

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "Internal errors in the request log on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let lines: string[];
    let parsed: () => LogLine[];

    beforeAll(async () => {
      db = await target.create();
      ({ t, lines, parsed } = await startLoggedServer(db));
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("logs a warn line with the request id, and the failing statement without its values", async () => {
      const f = await createFixture(t);
      // The next publish fails inside the database: its INSERT names a table that is gone.
      await (t.server.store as KnexStore).knex.raw("ALTER TABLE messages RENAME TO messages_gone");
      const error = await t.publisher
        .publish(
          {
            publisher: f.publisher,
            topic: f.topic,
            messages: [{ data: text(SECRET_DATA), attributes: { plan: SECRET_ATTRIBUTE } }],
          },
          { headers: { "x-request-id": "boom-1" } },
        )
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(error?.code).toBe(Code.Internal);
      expect(error?.rawMessage).toBe("internal error");
      expect(error?.metadata.get("x-request-id")).toBe("boom-1");
      expect(
        parsed()
          .filter((l) => l.requestId === "boom-1")
          .map((l) => [l.level, l.code]),
      ).toEqual([
        ["debug", "INTERNAL"],
        ["warn", "INTERNAL"],
      ]);
      const all = lines.join("");
      expect(all).toContain("internal error");
      expect(all).toContain("messages");
      const hexData = Buffer.from(SECRET_DATA).toString("hex");
      for (const secret of [SECRET_DATA, SECRET_ATTRIBUTE, hexData, hexData.toUpperCase()]) {
        expect(all).not.toContain(secret);
      }
    });
  },
);
