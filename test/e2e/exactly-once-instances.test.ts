/**
 * Exactly-once delivery across real `herald serve` processes on one database: an instance
 * SIGKILLed while a consumer holds a lease. The other instance, running all along, does not
 * deliver the message while the lease is valid; it delivers it once the lease ran out, and the
 * killed instance's ack id is then reported invalid (Pub/Sub's per-ack-id ErrorInfo on
 * google.pubsub.v1, invalid_ack_ids on herald.v1) while the new delivery's ack is confirmed.
 * MySQL runs both instances at once; on SQLite the second starts after the kill (one writer
 * process at a time is what Herald supports there).
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Publisher, Subscriber } from "../../gen/google/pubsub/v1/pubsub_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { text } from "../support/fixtures.js";
import { heraldClients, killHeraldProcesses, startHeraldProcess } from "../support/herald-process.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";

const LEASE_SECONDS = 10;

async function startInstance(db: TestDatabase) {
  const proc = await startHeraldProcess({
    DATABASE_URL: db.url,
    HERALD_ADDR: "127.0.0.1:0",
    HERALD_SWEEP_INTERVAL_MS: "200",
    HERALD_POLL_MAX_MS: "50",
  });
  const transport = createGrpcTransport({ baseUrl: proc.url });
  return {
    proc,
    ...heraldClients(proc.url),
    pubsub: {
      publisher: createClient(Publisher, transport),
      subscriber: createClient(Subscriber, transport),
    },
  };
}

afterEach(async () => {
  await killHeraldProcesses();
});
afterAll(async () => {
  await killHeraldProcesses();
});

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "exactly-once across instances on %s",
  (kind, target) => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await target.create();
    });
    afterAll(async () => {
      await db?.drop();
    });

    it("redelivers a killed instance's lease only after it expired, and its ack id is invalid", async () => {
      const a = await startInstance(db);
      const tag = `eod${Math.random().toString(36).slice(2, 8)}`;
      const project = "projects/eod";
      const topic = `${project}/topics/${tag}`;
      const subscription = `${project}/subscriptions/${tag}`;
      await a.pubsub.publisher.createTopic({ name: topic });
      await a.pubsub.subscriber.createSubscription({
        name: subscription,
        topic,
        ackDeadlineSeconds: LEASE_SECONDS,
        enableExactlyOnceDelivery: true,
      });
      await a.pubsub.publisher.publish({ topic, messages: [{ data: text("held by the killed instance") }] });
      const b = kind === "mysql" ? await startInstance(db) : undefined;

      const pulledAtMs = Date.now();
      const held = (await a.pubsub.subscriber.pull({ subscription, maxMessages: 1 })).receivedMessages;
      expect(held).toHaveLength(1);
      const staleAckId = held[0]?.ackId ?? "";
      // The running instance does not deliver it while A's lease is valid.
      if (b) {
        const early = await b.pubsub.subscriber.pull({
          subscription,
          maxMessages: 1,
          returnImmediately: true,
        });
        expect(early.receivedMessages).toEqual([]);
      }
      expect(await a.proc.stop("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });

      const other = b ?? (await startInstance(db));
      let again: typeof held = [];
      while (again.length === 0) {
        if (Date.now() - pulledAtMs > 30_000) throw new Error("no redelivery within 30 s");
        again = (await other.pubsub.subscriber.pull({ subscription, maxMessages: 1 })).receivedMessages;
      }
      expect(Date.now() - pulledAtMs).toBeGreaterThanOrEqual(LEASE_SECONDS * 1000);
      expect(again[0]?.message?.messageId).toBe(held[0]?.message?.messageId);

      const error = await other.pubsub.subscriber.acknowledge({ subscription, ackIds: [staleAckId] }).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(error?.code).toBe(Code.InvalidArgument);
      expect(error?.findDetails(ErrorInfoSchema)[0]?.metadata).toEqual({
        [staleAckId]: "PERMANENT_FAILURE_INVALID_ACK_ID",
      });
      const name = tag;
      expect(
        (await other.subscriber.acknowledge({ subscription: name, ackIds: [staleAckId] })).invalidAckIds,
      ).toEqual([staleAckId]);
      await other.pubsub.subscriber.acknowledge({ subscription, ackIds: [again[0]?.ackId ?? ""] });
      const stats = (await other.admin.getSubscriptionStats({ name })).stats;
      expect(stats?.backlog).toBe(0n);
      expect(stats?.inFlight).toBe(0n);
    }, 60_000);
  },
);
