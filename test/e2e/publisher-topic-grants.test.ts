/**
 * M1: a publisher key publishes only to the topics granted to it (allowed_topics), on Herald's
 * Publish and on google.pubsub.v1 Publish; admin tokens publish anywhere; the migration keeps
 * publishers that existed before it able to publish everywhere.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Publisher as PubsubPublisher } from "../../gen/google/pubsub/v1/pubsub_pb.js";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { FakeClock } from "../../src/domain/clock.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { createMigrationSource } from "../../src/storage/migrations/migration-source.js";
import { openStore } from "../../src/storage/open-store.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const ADMIN_TOKEN = "grants-admin-token-0123456789";

async function codeAndMessage(call: Promise<unknown>): Promise<[Code | "ok", string]> {
  try {
    await call;
    return ["ok", ""];
  } catch (error) {
    const e = ConnectError.from(error);
    return [e.code, e.rawMessage];
  }
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "publisher topic grants on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    const clock = new FakeClock(Date.now());
    const clients = (token: string) => {
      const transport = createGrpcTransport({
        baseUrl: t.server.url,
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ],
      });
      return {
        admin: createClient(AdminService, transport),
        publisher: createClient(PublisherService, transport),
        pubsub: createClient(PubsubPublisher, transport),
      };
    };
    const publish = (token: string, publisher: string, topic: string) =>
      codeAndMessage(
        clients(token).publisher.publish({ publisher, topic, messages: [{ data: new Uint8Array([1]) }] }),
      );

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { clock, env: { HERALD_ADMIN_TOKENS: ADMIN_TOKEN } });
      const { admin } = clients(ADMIN_TOKEN);
      for (const code of ["grant.a", "grant.b", "grant.c"]) await admin.createTopic({ code, name: code });
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("grants nothing implicitly: a new publisher's key may publish nowhere", async () => {
      const { admin } = clients(ADMIN_TOKEN);
      const created = await admin.createPublisher({ code: "grant-none", name: "n" });
      expect(created.publisher?.allowedTopics).toEqual([]);
      const [code, message] = await publish(created.apiKey, "grant-none", "grant.a");
      expect(code).toBe(Code.PermissionDenied);
      expect(message).toContain('"grant.a"');
    });

    it("lets a key publish to its allowed topics only, and follows updates", async () => {
      const { admin } = clients(ADMIN_TOKEN);
      const created = await admin.createPublisher({
        code: "grant-some",
        name: "s",
        allowedTopics: ["grant.b", "grant.a", "grant.a"],
      });
      expect(created.publisher?.allowedTopics).toEqual(["grant.a", "grant.b"]);
      const key = created.apiKey;
      expect((await publish(key, "grant-some", "grant.a"))[0]).toBe("ok");
      expect((await publish(key, "grant-some", "grant.b"))[0]).toBe("ok");
      const [code, message] = await publish(key, "grant-some", "grant.c");
      expect(code).toBe(Code.PermissionDenied);
      expect(message).toContain('"grant.c"');

      const updated = await admin.updatePublisher({
        code: "grant-some",
        allowedTopics: { topics: ["grant.c"] },
      });
      expect(updated.publisher?.allowedTopics).toEqual(["grant.c"]);
      expect((await admin.getPublisher({ code: "grant-some" })).publisher?.allowedTopics).toEqual([
        "grant.c",
      ]);
      clock.advanceMs(2_000); // past the authenticator's 1 s cache
      expect((await publish(key, "grant-some", "grant.c"))[0]).toBe("ok");
      expect((await publish(key, "grant-some", "grant.a"))[0]).toBe(Code.PermissionDenied);

      await admin.updatePublisher({ code: "grant-some", allowedTopics: { topics: ["*"] } });
      clock.advanceMs(2_000);
      expect((await publish(key, "grant-some", "grant.a"))[0]).toBe("ok");
      const listed = await admin.listPublishers({});
      expect(listed.publishers.find((p) => p.code === "grant-some")?.allowedTopics).toEqual(["*"]);
    });

    it("refuses unknown topics and mixed wildcards in allowed_topics, naming the entry", async () => {
      const { admin } = clients(ADMIN_TOKEN);
      const [unknown, unknownMessage] = await codeAndMessage(
        admin.createPublisher({ code: "grant-bad", name: "b", allowedTopics: ["grant.a", "grant.zzz"] }),
      );
      expect(unknown).toBe(Code.InvalidArgument);
      expect(unknownMessage).toContain("allowed_topics[1]");
      // The transaction rolled back: no publisher without its grants was left behind.
      expect((await codeAndMessage(admin.getPublisher({ code: "grant-bad" })))[0]).toBe(Code.NotFound);
      const [mixed] = await codeAndMessage(
        admin.createPublisher({ code: "grant-bad", name: "b", allowedTopics: ["*", "grant.a"] }),
      );
      expect(mixed).toBe(Code.InvalidArgument);
    });

    it("applies the same grants on the google.pubsub.v1 Publish; admin tokens publish anywhere", async () => {
      const { admin } = clients(ADMIN_TOKEN);
      const created = await admin.createPublisher({
        code: "grant-ps",
        name: "p",
        allowedTopics: ["grant.a"],
      });
      const { pubsub } = clients(created.apiKey);
      const message = { messages: [{ data: new Uint8Array([1]) }] };
      expect(
        (await codeAndMessage(pubsub.publish({ topic: "projects/p/topics/grant.a", ...message })))[0],
      ).toBe("ok");
      const [code, text] = await codeAndMessage(
        pubsub.publish({ topic: "projects/p/topics/grant.b", ...message }),
      );
      expect(code).toBe(Code.PermissionDenied);
      expect(text).toContain('"grant.b"');
      const adminPubsub = clients(ADMIN_TOKEN).pubsub;
      expect(
        (await codeAndMessage(adminPubsub.publish({ topic: "projects/p/topics/grant.b", ...message })))[0],
      ).toBe("ok");
      expect((await publish(ADMIN_TOKEN, "grant-none", "grant.c"))[0]).toBe("ok");
    });

    it("grants the Pub/Sub API's publisher the topics created through that API", async () => {
      const { admin, pubsub } = clients(ADMIN_TOKEN);
      await pubsub.createTopic({ name: "projects/p/topics/grant.via-pubsub" });
      const compat = await admin.getPublisher({ code: "google-pubsub" });
      expect(compat.publisher?.allowedTopics).toContain("grant.via-pubsub");
      expect(compat.publisher?.allowedTopics).not.toContain("grant.a");
    });
  },
);

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "migration 0003 on %s",
  (_k, target) => {
    it("keeps publishers that existed before it publishing to every topic", async () => {
      const db = await target.create();
      const store = (await openStore({ databaseUrl: db.url, migrate: false })) as KnexStore;
      try {
        const source = { migrationSource: createMigrationSource(store.dialect) };
        await store.knex.migrate.up(source); // 0001
        await store.knex.migrate.up(source); // 0002
        await store.knex("publishers").insert({
          code: "old-pub",
          name: "old",
          description: "",
          is_active: true,
          created_at_ms: 1,
          updated_at_ms: 1,
        });
        await store.knex.migrate.latest(source);
        const old = await store.repos.publishers.findByCode("old-pub");
        const created = await store.repos.publishers.insert(
          { code: "new-pub", name: "n", description: "" },
          2,
        );
        const grants = await store.repos.publisherGrants.findMany([old?.id ?? 0n, created.id]);
        expect(grants.get(old?.id ?? 0n)).toEqual({ allTopics: true, topicCodes: [] });
        expect(grants.get(created.id)).toEqual({ allTopics: false, topicCodes: [] });
        // And down again, then up: the migration is reversible.
        await store.knex.migrate.down(source);
        await store.knex.migrate.latest(source);
      } finally {
        await store.close();
        await db.drop();
      }
    });
  },
);
