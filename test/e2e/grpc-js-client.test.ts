/**
 * The contract as any gRPC user meets it: @grpc/grpc-js with @grpc/proto-loader reading proto/,
 * no generated TypeScript involved.
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const PROTO_DIR = join(import.meta.dirname, "../../proto");

// biome-ignore lint/suspicious/noExplicitAny: proto-loader clients are untyped by design
type UntypedClient = any;

function loadClients(address: string) {
  const definition = protoLoader.loadSync(
    [
      "herald/v1/admin_service.proto",
      "herald/v1/publisher_service.proto",
      "herald/v1/subscriber_service.proto",
    ],
    { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
  );
  // biome-ignore lint/suspicious/noExplicitAny: package object from loadPackageDefinition
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const credentials = grpc.credentials.createInsecure();
  return {
    admin: new pkg.herald.v1.AdminService(address, credentials) as UntypedClient,
    publisher: new pkg.herald.v1.PublisherService(address, credentials) as UntypedClient,
    subscriber: new pkg.herald.v1.SubscriberService(address, credentials) as UntypedClient,
  };
}

/** Resolves with the error a call fails with; fails the test if it succeeds. */
async function callError(client: UntypedClient, method: string, request: object): Promise<grpc.ServiceError> {
  try {
    await call(client, method, request);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error(`${method} should have failed`);
}

function call<T>(client: UntypedClient, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](request, (err: grpc.ServiceError | null, response: T) =>
      err ? reject(err) : resolve(response),
    );
  });
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "@grpc/grpc-js client on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let clients: ReturnType<typeof loadClients>;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db);
      clients = loadClients(new URL(t.server.url).host);
    });
    afterAll(async () => {
      for (const c of Object.values(clients ?? {})) c.close();
      await t?.stop();
      await db?.drop();
    });

    it("creates entities, publishes and reads back a subscription", async () => {
      await call(clients.admin, "CreatePublisher", { code: "grpc-js", name: "grpc-js publisher" });
      await call(clients.admin, "CreateTopic", { code: "grpcjs.events", name: "events" });
      const { subscriber } = await call<{ subscriber: { id: string } }>(clients.admin, "CreateSubscriber", {
        client_id: "42",
        name: "grpc-js consumer",
      });
      await call(clients.admin, "CreateSubscription", {
        name: "grpcjs-sub",
        subscriber_id: subscriber.id,
        topic: "grpcjs.events",
        identifier: "order-*",
        delivery_type: "DELIVERY_TYPE_PULL",
        ack_deadline_seconds: 60,
        min_backoff: { seconds: "1", nanos: 0 },
      });
      const published = await call<{ message_ids: string[] }>(clients.publisher, "Publish", {
        publisher: "grpc-js",
        topic: "grpcjs.events",
        messages: [
          { data: Buffer.from("hello"), identifier: "order-1", attributes: { a: "b" } },
          { data: Buffer.from("skip"), identifier: "user-1" },
        ],
      });
      expect(published.message_ids).toHaveLength(2);
      const got = await call<{ subscription: Record<string, unknown>; message_count: string }>(
        clients.admin,
        "GetSubscription",
        { name: "grpcjs-sub" },
      );
      expect(got.subscription).toMatchObject({
        name: "grpcjs-sub",
        identifier: "order-*",
        ack_deadline_seconds: 60,
        delivery_type: "DELIVERY_TYPE_PULL",
      });
      const queued = await t.server.store.repos.queue.listByMessage(
        BigInt(published.message_ids[0] as string),
      );
      expect(queued).toHaveLength(1);
      const skipped = await t.server.store.repos.queue.listByMessage(
        BigInt(published.message_ids[1] as string),
      );
      expect(skipped).toHaveLength(0);
    });

    it("maps errors to gRPC status codes with readable details", async () => {
      const notFound = await callError(clients.admin, "GetTopic", { code: "nope.nope" });
      expect(notFound.code).toBe(grpc.status.NOT_FOUND);
      expect(notFound.details).toContain("nope.nope");
      const invalid = await callError(clients.publisher, "Publish", {
        publisher: "grpc-js",
        topic: "grpcjs.events",
      });
      expect(invalid.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(invalid.details).toContain("messages");
      const exists = await callError(clients.admin, "CreateTopic", { code: "grpcjs.events", name: "again" });
      expect(exists.code).toBe(grpc.status.ALREADY_EXISTS);
    });

    it("pulls and acks through the subscriber service", async () => {
      const pulled = await call<{
        received_messages: { ack_id: string; delivery_attempt: number; message: { data: Buffer } }[];
      }>(clients.subscriber, "Pull", { subscription: "grpcjs-sub", max_messages: 10 });
      expect(pulled.received_messages).toHaveLength(1);
      const [received] = pulled.received_messages;
      expect(received?.delivery_attempt).toBe(1);
      expect(Buffer.from(received?.message.data ?? []).toString()).toBe("hello");
      const acked = await call<{ invalid_ack_ids: string[] }>(clients.subscriber, "Acknowledge", {
        subscription: "grpcjs-sub",
        ack_ids: [received?.ack_id],
      });
      expect(acked.invalid_ack_ids).toEqual([]);
      const err = await callError(clients.subscriber, "Pull", {
        subscription: "no-such-sub",
        max_messages: 1,
      });
      expect(err.code).toBe(grpc.status.NOT_FOUND);
    });
  },
);
