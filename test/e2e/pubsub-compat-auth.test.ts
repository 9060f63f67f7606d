import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Publisher, Subscriber } from "../../gen/google/pubsub/v1/pubsub_pb.js";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const ADMIN_TOKEN = "pubsub-admin-token-0123456789";
const P = "projects/auth";

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

/** The google.pubsub.v1 API under Herald's authentication: same tokens, per-method surfaces. */
describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "Pub/Sub API authorization on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    const keys: Record<string, string> = { admin: ADMIN_TOKEN };
    const as = (who?: string) => {
      const token = who ? keys[who] : undefined;
      const transport = createGrpcTransport({
        baseUrl: t.server.url,
        interceptors: token
          ? [
              (next) => (req) => {
                req.header.set("authorization", `Bearer ${token}`);
                return next(req);
              },
            ]
          : [],
      });
      return {
        publisher: createClient(Publisher, transport),
        subscriber: createClient(Subscriber, transport),
        admin: createClient(AdminService, transport),
      };
    };

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { env: { HERALD_ADMIN_TOKENS: ADMIN_TOKEN } });
      const admin = as("admin").admin;
      // Publisher keys publish only to granted topics; this suite's topics come and go.
      keys.pub = (
        await admin.createPublisher({ code: "orders-service", name: "Orders", allowedTopics: ["*"] })
      ).apiKey;
      keys.sub = (await admin.createSubscriber({ clientId: 5n, name: "stranger" })).apiKey;
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("needs an admin token to manage resources, a publisher key or admin to publish, and the owner to consume", async () => {
      expect(await codeOf(as().publisher.createTopic({ name: `${P}/topics/t1` }))).toBe(Code.Unauthenticated);
      expect(await codeOf(as("pub").publisher.createTopic({ name: `${P}/topics/t1` }))).toBe(
        Code.PermissionDenied,
      );
      expect(await codeOf(as("admin").publisher.createTopic({ name: `${P}/topics/t1` }))).toBe("ok");
      expect(
        await codeOf(
          as("admin").subscriber.createSubscription({
            name: `${P}/subscriptions/s1`,
            topic: `${P}/topics/t1`,
          }),
        ),
      ).toBe("ok");
      expect(
        await codeOf(as("sub").subscriber.getSubscription({ subscription: `${P}/subscriptions/s1` })),
      ).toBe(Code.PermissionDenied);

      // A publisher key publishes as its own publisher.
      const published = await as("pub").publisher.publish({
        topic: `${P}/topics/t1`,
        messages: [{ data: new TextEncoder().encode("x") }],
      });
      const message = await t.server.store.repos.messages.findById(BigInt(published.messageIds[0] as string));
      const publisher = await t.server.store.repos.publishers.findByCode("orders-service");
      expect(message?.publisherId).toBe(publisher?.id);
      expect(
        await codeOf(
          as().publisher.publish({ topic: `${P}/topics/t1`, messages: [{ data: new Uint8Array([1]) }] }),
        ),
      ).toBe(Code.Unauthenticated);
      expect(
        await codeOf(
          as("sub").publisher.publish({ topic: `${P}/topics/t1`, messages: [{ data: new Uint8Array([1]) }] }),
        ),
      ).toBe(Code.PermissionDenied);

      // A subscriber key may not consume another subscriber's subscription; admin may.
      const pull = (who: string) =>
        as(who).subscriber.pull({
          subscription: `${P}/subscriptions/s1`,
          maxMessages: 10,
          returnImmediately: true,
        });
      expect(await codeOf(pull("sub"))).toBe(Code.PermissionDenied);
      expect(await codeOf(pull("pub"))).toBe(Code.PermissionDenied);
      expect((await pull("admin")).receivedMessages).toHaveLength(1);
    });

    it("needs an admin token for snapshots and Seek, as for every resource RPC", async () => {
      const admin = as("admin");
      await admin.publisher.createTopic({ name: `${P}/topics/snap-t` });
      await admin.subscriber.createSubscription({
        name: `${P}/subscriptions/snap-s`,
        topic: `${P}/topics/snap-t`,
      });
      const snapshot = `${P}/snapshots/snap-1`;
      const calls: [string, (who?: string) => Promise<unknown>][] = [
        [
          "CreateSnapshot",
          (who) =>
            as(who).subscriber.createSnapshot({ name: snapshot, subscription: `${P}/subscriptions/snap-s` }),
        ],
        ["GetSnapshot", (who) => as(who).subscriber.getSnapshot({ snapshot })],
        ["ListSnapshots", (who) => as(who).subscriber.listSnapshots({ project: P })],
        [
          "UpdateSnapshot",
          (who) =>
            as(who).subscriber.updateSnapshot({
              snapshot: { name: snapshot, labels: { a: "b" } },
              updateMask: { paths: ["labels"] },
            }),
        ],
        [
          "Seek",
          (who) =>
            as(who).subscriber.seek({
              subscription: `${P}/subscriptions/snap-s`,
              target: { case: "snapshot", value: snapshot },
            }),
        ],
        [
          "ListTopicSnapshots",
          (who) => as(who).publisher.listTopicSnapshots({ topic: `${P}/topics/snap-t` }),
        ],
        ["DeleteSnapshot", (who) => as(who).subscriber.deleteSnapshot({ snapshot })],
      ];
      for (const [name, call] of calls) {
        expect(await codeOf(call()), `${name} without a token`).toBe(Code.Unauthenticated);
        expect(await codeOf(call("pub")), `${name} as a publisher`).toBe(Code.PermissionDenied);
        expect(await codeOf(call("sub")), `${name} as a subscriber`).toBe(Code.PermissionDenied);
        expect(await codeOf(call("admin")), `${name} as admin`).toBe("ok");
      }
    });
  },
);
