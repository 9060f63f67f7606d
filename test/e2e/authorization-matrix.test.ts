import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { DeadLetterService } from "../../gen/herald/v1/dead_letter_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";
import { FakeClock } from "../../src/domain/clock.js";
import { createJsonLogger } from "../../src/logger.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { text } from "../support/fixtures.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const ADMIN_TOKEN = "admin-token-0123456789-abcdef";
type Who = "none" | "bad" | "admin" | "pubA" | "pubB" | "subA" | "subB" | "inactivePub";
const EVERYONE: Who[] = ["none", "bad", "admin", "pubA", "pubB", "subA", "subB", "inactivePub"];
type Outcome = "allowed" | "unauthenticated" | "denied";

function outcomeOf(error: unknown): Outcome {
  if (error === undefined) return "allowed";
  const code = ConnectError.from(error).code;
  if (code === Code.Unauthenticated) return "unauthenticated";
  if (code === Code.PermissionDenied) return "denied";
  return "allowed"; // any other answer means the call got past authentication and authorization
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "authorization matrix on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    const clock = new FakeClock(Date.now());
    const logLines: string[] = [];
    const tokens: Partial<Record<Who, string>> = {
      bad: "hpk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      admin: ADMIN_TOKEN,
    };

    const clients = (who: Who) => {
      const token = tokens[who];
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
        admin: createClient(AdminService, transport),
        dlq: createClient(DeadLetterService, transport),
        publisher: createClient(PublisherService, transport),
        subscriber: createClient(SubscriberService, transport),
        health: createClient(Health, transport),
      };
    };

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(
        db,
        {},
        {
          clock,
          env: { HERALD_ADMIN_TOKENS: `${ADMIN_TOKEN},second-admin-token-xyz` },
          logger: createJsonLogger("debug", (l) => logLines.push(l)),
        },
      );
      const admin = clients("admin").admin;
      await admin.createTopic({ code: "auth.t", name: "t" });
      const allowedTopics = ["auth.t"];
      tokens.pubA = (await admin.createPublisher({ code: "pub-a", name: "A", allowedTopics })).apiKey;
      tokens.pubB = (await admin.createPublisher({ code: "pub-b", name: "B", allowedTopics })).apiKey;
      tokens.inactivePub = (await admin.createPublisher({ code: "pub-c", name: "C", allowedTopics })).apiKey;
      await admin.updatePublisher({ code: "pub-c", isActive: false });
      const subA = await admin.createSubscriber({ clientId: 1n, name: "A" });
      const subB = await admin.createSubscriber({ clientId: 2n, name: "B" });
      tokens.subA = subA.apiKey;
      tokens.subB = subB.apiKey;
      await admin.createSubscription({
        name: "sub-a",
        subscriberId: subA.subscriber?.id ?? 0n,
        topic: "auth.t",
      });
      await admin.createSubscription({
        name: "sub-b",
        subscriberId: subB.subscriber?.id ?? 0n,
        topic: "auth.t",
      });
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    /** Runs `call` as `who` and classifies the result. */
    async function as(who: Who, call: (c: ReturnType<typeof clients>) => Promise<unknown>): Promise<Outcome> {
      try {
        await call(clients(who));
        return "allowed";
      } catch (error) {
        return outcomeOf(error);
      }
    }

    it("refuses every admin and dead-letter RPC to everyone but admins", async () => {
      let cases = 0;
      for (const service of [AdminService, DeadLetterService]) {
        for (const method of service.methods) {
          for (const who of EVERYONE) {
            const outcome = await as(who, (c) => {
              const client = (service === AdminService ? c.admin : c.dlq) as unknown as Record<
                string,
                (r: object) => Promise<unknown>
              >;
              return client[method.localName]?.({}) as Promise<unknown>;
            });
            const expected: Outcome =
              who === "admin" ? "allowed" : who === "none" || who === "bad" ? "unauthenticated" : "denied";
            expect(outcome, `${service.typeName}/${method.name} as ${who}`).toBe(expected);
            cases += 1;
          }
        }
      }
      expect(cases).toBe((AdminService.methods.length + DeadLetterService.methods.length) * EVERYONE.length);
    });

    it("lets a publisher key publish only as its own active publisher", async () => {
      const publishAs = (publisher: string) => (c: ReturnType<typeof clients>) =>
        c.publisher.publish({ publisher, topic: "auth.t", messages: [{ data: text("x") }] });
      const expected: Record<Who, Outcome> = {
        none: "unauthenticated",
        bad: "unauthenticated",
        admin: "allowed",
        pubA: "allowed",
        pubB: "denied",
        subA: "denied",
        subB: "denied",
        inactivePub: "denied",
      };
      for (const who of EVERYONE)
        expect(await as(who, publishAs("pub-a")), `Publish as pub-a by ${who}`).toBe(expected[who]);
      expect(await as("inactivePub", publishAs("pub-c"))).toBe("denied");
      expect(await as("pubB", publishAs("pub-b"))).toBe("allowed");
    });

    it("lets a subscriber key consume only its own subscriptions", async () => {
      const calls: Record<string, (c: ReturnType<typeof clients>) => Promise<unknown>> = {
        Pull: (c) => c.subscriber.pull({ subscription: "sub-a", maxMessages: 1 }),
        Acknowledge: (c) => c.subscriber.acknowledge({ subscription: "sub-a", ackIds: ["forged"] }),
        ModifyAckDeadline: (c) =>
          c.subscriber.modifyAckDeadline({
            subscription: "sub-a",
            ackIds: ["forged"],
            ackDeadlineSeconds: 10,
          }),
        Reject: (c) => c.subscriber.reject({ subscription: "sub-a", ackIds: ["forged"], reason: "poison" }),
        Subscribe: async (c) => {
          // Authorization happens before the first message; an allowed stream just waits, so end it.
          try {
            for await (const _ of c.subscriber.subscribe({ subscription: "sub-a" }, { timeoutMs: 300 }))
              break;
          } catch (error) {
            if (ConnectError.from(error).code !== Code.DeadlineExceeded) throw error;
          }
        },
      };
      const expected: Record<Who, Outcome> = {
        none: "unauthenticated",
        bad: "unauthenticated",
        admin: "allowed",
        pubA: "denied",
        pubB: "denied",
        subA: "allowed",
        subB: "denied",
        inactivePub: "denied",
      };
      for (const [name, call] of Object.entries(calls)) {
        for (const who of EVERYONE)
          expect(await as(who, call), `${name} on sub-a by ${who}`).toBe(expected[who]);
      }
    });

    it("answers health checks without credentials", async () => {
      for (const who of EVERYONE) {
        const res = await clients(who).health.check({});
        expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      }
    });

    it("stores keys only as hashes and never logs a secret", async () => {
      const knex = (t.server.store as KnexStore).knex;
      const rows = (await knex("api_keys").select("*")) as Record<string, unknown>[];
      expect(rows.length).toBeGreaterThanOrEqual(5);
      const dump = JSON.stringify(rows, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
      for (const who of ["pubA", "pubB", "subA", "subB", "inactivePub"] as Who[]) {
        const key = tokens[who] as string;
        expect(dump).not.toContain(key);
        expect(dump).not.toContain(key.split("_").slice(2).join("_"));
      }
      const logs = logLines.join("\n");
      expect(logs).toContain("authentication failed");
      for (const secret of Object.values(tokens)) expect(logs).not.toContain(secret);
      expect(logs).not.toContain("second-admin-token-xyz");
    });

    it("keeps a rotated key valid for its overlap only", async () => {
      const admin = clients("admin").admin;
      const old = tokens.pubB as string;
      const rotated = await admin.rotatePublisherKey({ code: "pub-b", overlap: { seconds: 60n } });
      tokens.pubB = rotated.apiKey;
      const publishB = (c: ReturnType<typeof clients>) =>
        c.publisher.publish({ publisher: "pub-b", topic: "auth.t", messages: [{ data: text("x") }] });
      expect(await as("pubB", publishB)).toBe("allowed");
      tokens.bad = old; // the old key, still inside its overlap
      expect(await as("bad", publishB)).toBe("allowed");
      clock.advanceMs(61_000);
      expect(await as("bad", publishB)).toBe("unauthenticated");
      expect(await as("pubB", publishB)).toBe("allowed");
      const subKey = await admin.rotateSubscriberKey({ id: 1n, overlap: { seconds: 0n } });
      tokens.bad = tokens.subA;
      tokens.subA = subKey.apiKey;
      clock.advanceMs(1);
      expect(await as("bad", (c) => c.subscriber.pull({ subscription: "sub-a", maxMessages: 1 }))).toBe(
        "unauthenticated",
      );
      expect(await as("subA", (c) => c.subscriber.pull({ subscription: "sub-a", maxMessages: 1 }))).toBe(
        "allowed",
      );
    });
  },
);
