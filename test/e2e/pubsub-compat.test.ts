import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Message } from "@google-cloud/pubsub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeadLetterService } from "../../gen/herald/v1/dead_letter_service_pb.js";
import { consume, PROJECT, pubsubClients } from "../support/pubsub-client.js";
import { eventually } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/**
 * The official @google-cloud/pubsub client against Herald through PUBSUB_EMULATOR_HOST: one
 * system, two APIs — what the client does is visible through Herald's own API.
 */
describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "Google Pub/Sub client against Herald on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let dlq: ReturnType<typeof createClient<typeof DeadLetterService>>;
    const clients = pubsubClients(() => t.server.url);

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { env: { HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32" } });
      dlq = createClient(DeadLetterService, createGrpcTransport({ baseUrl: t.server.url }));
    });
    afterEach(async () => {
      await clients.closeAll();
    });
    afterAll(async () => {
      await clients.closeAll();
      await t?.stop();
      await db?.drop();
    });

    const statsOf = async (name: string) => (await t.admin.getSubscriptionStats({ name })).stats;

    it("publishes 10,000 messages with batching, receives each with flow control, loses no ack on close(); Herald logs the deliveries", async () => {
      const pubsub = clients.create();
      const [topic] = await pubsub.createTopic("bulk");
      const [subscription] = await topic.createSubscription("bulk-sub", {
        flowControl: { maxMessages: 100, allowExcessMessages: false },
      });
      topic.setPublishOptions({ batching: { maxMessages: 200, maxMilliseconds: 10 } });
      const total = 10_000;
      const ids = await Promise.all(
        Array.from({ length: total }, (_, i) =>
          topic.publishMessage({ data: Buffer.from(`m-${i}`), attributes: { n: String(i) } }),
        ),
      );
      expect(new Set(ids).size).toBe(total);

      const seen = new Set<string>();
      let outstanding = 0;
      let maxOutstanding = 0;
      await consume(subscription, (m, stop) => {
        seen.add(m.attributes.n as string);
        outstanding++;
        maxOutstanding = Math.max(maxOutstanding, outstanding);
        // Ack on a later turn, so the client's flow control has messages held to count; close
        // right after the last ack: close() must not lose acks it has been given.
        setImmediate(() => {
          outstanding--;
          m.ack();
          if (seen.size === total && outstanding === 0) stop();
        });
      });
      expect(seen.size).toBe(total);
      expect(maxOutstanding).toBeLessThanOrEqual(100);

      // Herald's own API: everything acked, each delivery logged as a gRPC stream delivery.
      const stats = await eventually(
        () => statsOf("bulk-sub"),
        (s) => s?.backlog === 0n && s.inFlight === 0n,
        20_000,
        "all acks applied",
      );
      expect(stats?.waitingForRetry).toBe(0n);
      const logs = await t.admin.listNotificationLogs({
        messageId: ids[0] as string,
        subscription: "bulk-sub",
      });
      expect(logs.notificationLogs.map((l) => [l.deliveryMethod, l.status])).toContainEqual(["grpc", "sent"]);
    });

    it("redelivers a nacked message", async () => {
      const pubsub = clients.create();
      const [topic] = await pubsub.createTopic("nacks");
      const [subscription] = await topic.createSubscription("nacks-sub");
      const id = await topic.publishMessage({ data: Buffer.from("again") });
      const deliveries: Message[] = [];
      await consume(
        subscription,
        (m) => {
          deliveries.push(m);
          if (deliveries.length === 1) m.nack();
          else m.ack();
        },
        () => deliveries.length === 2,
      );
      expect(deliveries.map((m) => m.id)).toEqual([id, id]);
      expect(deliveries[1]?.data.toString()).toBe("again");
      // No dead-letter policy: Pub/Sub leaves delivery_attempt unset.
      expect(deliveries[1]?.deliveryAttempt).toBe(0);
    });

    it("keeps per-key order with messageOrdering, through nacks", async () => {
      const pubsub = clients.create();
      const [topic] = await pubsub.createTopic("ordered");
      const [subscription] = await topic.createSubscription("ordered-sub", { enableMessageOrdering: true });
      topic.setPublishOptions({ messageOrdering: true });
      const keys = ["k0", "k1", "k2", "k3"];
      const perKey = 40;
      await Promise.all(
        keys.flatMap((key) =>
          Array.from({ length: perKey }, (_, i) =>
            topic.publishMessage({ data: Buffer.from(`${key}:${i}`), orderingKey: key }),
          ),
        ),
      );
      const acked = new Map<string, number[]>(keys.map((k) => [k, []]));
      const nacked = new Set<string>();
      let total = 0;
      await consume(
        subscription,
        (m) => {
          const [key, n] = m.data.toString().split(":") as [string, string];
          expect(m.orderingKey).toBe(key);
          // Nack every fifth message once: it must come back before anything after it.
          if (Number(n) % 5 === 2 && !nacked.has(m.id)) {
            nacked.add(m.id);
            m.nack();
            return;
          }
          acked.get(key)?.push(Number(n));
          total++;
          m.ack();
        },
        () => total === keys.length * perKey,
      );
      for (const key of keys) {
        expect(acked.get(key)).toEqual(Array.from({ length: perKey }, (_, i) => i));
      }
    });

    it("moves a message to the dead-letter topic after max attempts, with Pub/Sub's attributes, and into Herald's DLQ", async () => {
      const pubsub = clients.create();
      const [deadTopic] = await pubsub.createTopic("orders-dead");
      const [deadSub] = await deadTopic.createSubscription("orders-dead-sub");
      const [topic] = await pubsub.createTopic("orders");
      const [subscription] = await topic.createSubscription("orders-sub", {
        deadLetterPolicy: { deadLetterTopic: deadTopic.name, maxDeliveryAttempts: 5 },
      });
      const [metadata] = await subscription.getMetadata();
      expect(metadata.deadLetterPolicy?.maxDeliveryAttempts).toBe(5);
      expect(metadata.deadLetterPolicy?.deadLetterTopic).toBe(`projects/${PROJECT}/topics/orders-dead`);

      const id = await topic.publishMessage({ data: Buffer.from("poison"), attributes: { kind: "bad" } });
      const attempts: number[] = [];
      let publishTimeMs = 0;
      await consume(
        subscription,
        (m) => {
          publishTimeMs = m.publishTime.getTime();
          attempts.push(m.deliveryAttempt);
          m.nack();
        },
        () => attempts.length === 5,
      );
      expect(attempts).toEqual([1, 2, 3, 4, 5]);

      const listed = await eventually(
        () => dlq.listDeadLetters({ filter: { subscription: "orders-sub" } }),
        (r) => r.deadLetters.length === 1,
        10_000,
        "the dead letter",
      );
      expect(listed.deadLetters[0]).toMatchObject({
        messageId: id,
        attemptCount: 5,
        failureReason: "MAX_ATTEMPTS",
      });

      await t.server.forwardDeadLettersNow();
      const forwarded: Message[] = [];
      await consume(
        deadSub,
        (m) => {
          forwarded.push(m);
          m.ack();
        },
        () => forwarded.length === 1,
      );
      const dead = forwarded[0] as Message;
      expect(dead.data.toString()).toBe("poison");
      expect(dead.attributes).toMatchObject({
        kind: "bad",
        CloudPubSubDeadLetterSourceDeliveryCount: "5",
        CloudPubSubDeadLetterSourceSubscription: "orders-sub",
        CloudPubSubDeadLetterSourceSubscriptionProject: PROJECT,
      });
      expect(Date.parse(dead.attributes.CloudPubSubDeadLetterSourceTopicPublishTime ?? "")).toBe(
        publishTimeMs,
      );
      // Forwarding again (another instance, or a retry) publishes nothing new.
      await t.server.forwardDeadLettersNow();
      expect((await statsOf("orders-dead-sub"))?.backlog).toBe(0n);
    });
  },
);
