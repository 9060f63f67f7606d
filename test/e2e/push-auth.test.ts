/**
 * Push authentication through the real server: static headers per subscription (write-only,
 * sealed at rest, never returned or logged) and Herald's no_wrapper/write_metadata.
 */
import { randomBytes } from "node:crypto";
import { toJsonString } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType, SubscriptionSchema } from "../../gen/herald/v1/resources_pb.js";
import { createJsonLogger } from "../../src/logger.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { expectCode } from "../support/expect-error.js";
import { text } from "../support/fixtures.js";
import { PUSH_TEST_ENV } from "../support/push-env.js";
import { until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { startWebhookSink } from "../support/webhook-sink.js";

const PUSH_ENV = {
  ...PUSH_TEST_ENV,
  HERALD_SECRET_KEYS: randomBytes(32).toString("base64"),
};
const GATEWAY_TOKEN = "gw-token-3f9a1c7e5b";
const API_KEY = "api-key-88d1e2f4a0";
const ROTATED_KEY = "api-key-rotated-51c2";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "push authentication on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let sink: Awaited<ReturnType<typeof startWebhookSink>>;
    const logLines: string[] = [];
    let subscriberId = 0n;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(
        db,
        {},
        {
          env: PUSH_ENV,
          logger: createJsonLogger("debug", (line) => logLines.push(line)),
        },
      );
      // The first push fails, so failure paths are logged too.
      sink = await startWebhookSink((_p, i) =>
        i === 0 ? { status: 500, body: "try again" } : { status: 204 },
      );
      await t.admin.createPublisher({ code: "auth-pub", name: "p" });
      await t.admin.createTopic({ code: "auth.topic", name: "t" });
      const created = await t.admin.createSubscriber({ clientId: 5n, name: "gw", webhookUrl: sink.url });
      subscriberId = created.subscriber?.id ?? 0n;
    });
    afterAll(async () => {
      await t?.stop();
      await sink?.close();
      await db?.drop();
    });

    it("sends static headers with every push, unwrapped with metadata, and never returns or logs them", async () => {
      const created = await t.admin.createSubscription({
        name: "gateway-hook",
        subscriberId,
        topic: "auth.topic",
        deliveryType: DeliveryType.PUSH,
        minBackoff: { seconds: 0n },
        maxBackoff: { seconds: 0n },
        pushHeaders: { Authorization: `Bearer ${GATEWAY_TOKEN}`, "X-Api-Key": API_KEY },
        noWrapper: true,
        writeMetadata: true,
      });
      await t.server.refreshPushers();
      await t.publisher.publish({
        publisher: "auth-pub",
        topic: "auth.topic",
        messages: [{ data: text("raw bytes"), attributes: { region: "eu" } }],
      });
      await until(() => sink.received.some((p) => p.status === 204), 20_000, "a successful push");
      for (const push of sink.received) {
        expect(push.headers.authorization).toBe(`Bearer ${GATEWAY_TOKEN}`);
        expect(push.headers["x-api-key"]).toBe(API_KEY);
        expect(push.raw.toString()).toBe("raw bytes");
        expect(push.headers.region).toBe("eu");
        expect(push.headers["x-goog-pubsub-message-id"]).toBeDefined();
        expect(push.headers["webhook-signature"]).toMatch(/^v1,/);
      }
      expect(sink.received.length).toBeGreaterThanOrEqual(2);

      const got = (await t.admin.getSubscription({ name: "gateway-hook" })).subscription;
      const listed = (await t.admin.listSubscriptions({})).subscriptions;
      expect(got).toMatchObject({
        pushHeaderNames: ["authorization", "x-api-key"],
        noWrapper: true,
        writeMetadata: true,
      });
      const responses = [created.subscription, got, ...listed].map((s) =>
        s ? toJsonString(SubscriptionSchema, s) : "",
      );
      for (const json of responses) {
        expect(json).not.toContain(GATEWAY_TOKEN);
        expect(json).not.toContain(API_KEY);
      }
      const row = await (t.server.store as KnexStore)
        .knex("subscriptions")
        .where({ name: "gateway-hook" })
        .first();
      expect(JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(
        GATEWAY_TOKEN,
      );
      expect(JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(
        API_KEY,
      );
      const logs = logLines.join("\n");
      expect(logs).toContain("AdminService/CreateSubscription"); // the debug log saw the calls
      expect(logs).not.toContain(GATEWAY_TOKEN);
      expect(logs).not.toContain(API_KEY);
    });

    it("replaces the headers on update and pushes the new ones", async () => {
      const updated = await t.admin.updateSubscription({
        name: "gateway-hook",
        pushHeaders: { headers: { "x-api-key": ROTATED_KEY } },
        noWrapper: false,
      });
      expect(updated.subscription).toMatchObject({
        pushHeaderNames: ["x-api-key"],
        noWrapper: false,
        writeMetadata: false,
      });
      expect(toJsonString(SubscriptionSchema, updated.subscription ?? ({} as never))).not.toContain(
        ROTATED_KEY,
      );
      await t.server.refreshPushers();
      const before = sink.received.length;
      await t.publisher.publish({
        publisher: "auth-pub",
        topic: "auth.topic",
        messages: [{ data: text("again") }],
      });
      await until(
        () => sink.received.slice(before).some((p) => p.headers["x-api-key"] === ROTATED_KEY),
        20_000,
        "a push with the new header",
      );
      const latest = sink.received.at(-1);
      expect(latest?.headers.authorization).toBeUndefined();
      expect(latest?.json.message.data).toBe(Buffer.from("again").toString("base64"));
      expect(logLines.join("\n")).not.toContain(ROTATED_KEY);
    });

    it("rejects reserved or malformed headers and write_metadata without no_wrapper, naming the field", async () => {
      const base = { subscriberId, topic: "auth.topic", deliveryType: DeliveryType.PUSH };
      await expectCode(
        t.admin.createSubscription({ ...base, name: "bad-1", pushHeaders: { "content-type": "text/plain" } }),
        Code.InvalidArgument,
        "push_headers",
      );
      await expectCode(
        t.admin.createSubscription({ ...base, name: "bad-2", pushHeaders: { "x-ok": "line\r\nx-evil: 1" } }),
        Code.InvalidArgument,
        "push_headers",
      );
      await expectCode(
        t.admin.createSubscription({ ...base, name: "bad-3", writeMetadata: true }),
        Code.InvalidArgument,
        "write_metadata",
      );
      await expectCode(
        t.admin.createSubscription({
          ...base,
          name: "bad-4",
          pushHeaders: { authorization: "Bearer x" },
          oidcToken: { serviceAccountEmail: "a@b.example", audience: "" },
        }),
        Code.InvalidArgument,
        "oidc_token",
      );
      await expectCode(
        t.admin.createSubscription({
          ...base,
          name: "bad-5",
          oidcToken: { serviceAccountEmail: "not-an-email", audience: "" },
        }),
        Code.InvalidArgument,
        "oidc_token.service_account_email",
      );
    });
  },
);
