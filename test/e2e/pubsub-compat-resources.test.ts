import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Message } from "@google-cloud/pubsub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Publisher, PubsubMessageSchema, Subscriber } from "../../gen/google/pubsub/v1/pubsub_pb.js";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { consume, PROJECT, pubsubClients } from "../support/pubsub-client.js";
import { until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { startWebhookSink } from "../support/webhook-sink.js";

/** gRPC status code of a rejected client call (the official client's errors carry `code`). */
async function codeOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (error) {
    return (error as { code: number }).code;
  }
  throw new Error("expected the call to fail");
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "Pub/Sub API resources, push and filters on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    const clients = pubsubClients(() => t.server.url);

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { env: { HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32" } });
    });
    afterEach(async () => {
      await clients.closeAll();
    });
    afterAll(async () => {
      await clients.closeAll();
      await t?.stop();
      await db?.drop();
    });

    it("manages topics and subscriptions as Pub/Sub does, visible through Herald's admin API", async () => {
      const pubsub = clients.create();
      const [topic] = await pubsub.createTopic("inventory");
      expect(topic.name).toBe(`projects/${PROJECT}/topics/inventory`);
      expect(await codeOf(pubsub.createTopic("inventory"))).toBe(Code.AlreadyExists);
      const [exists] = await pubsub.topic("inventory").exists();
      expect(exists).toBe(true);
      const [topics] = await pubsub.getTopics();
      expect(topics.map((x) => x.name)).toContain(`projects/${PROJECT}/topics/inventory`);

      const [subscription] = await topic.createSubscription("inventory-sub", {
        ackDeadlineSeconds: 45,
        retryPolicy: { minimumBackoff: { seconds: 2 }, maximumBackoff: { seconds: 30 } },
        messageRetentionDuration: { seconds: 3600 },
        filter: 'attributes.kind = "restock"',
        enableMessageOrdering: true,
      });
      const [metadata] = await subscription.getMetadata();
      expect(metadata).toMatchObject({
        name: `projects/${PROJECT}/subscriptions/inventory-sub`,
        topic: `projects/${PROJECT}/topics/inventory`,
        ackDeadlineSeconds: 45,
        filter: 'attributes.kind = "restock"',
        enableMessageOrdering: true,
      });
      expect(Number(metadata.retryPolicy?.minimumBackoff?.seconds)).toBe(2);
      expect(Number(metadata.messageRetentionDuration?.seconds)).toBe(3600);

      // The same subscription through Herald's own API.
      const herald = (await t.admin.getSubscription({ name: "inventory-sub" })).subscription;
      expect(herald).toMatchObject({
        topic: "inventory",
        ackDeadlineSeconds: 45,
        filter: 'attributes.kind = "restock"',
        enableOrdering: true,
        deliveryType: DeliveryType.PULL,
      });

      await subscription.setMetadata({ ackDeadlineSeconds: 60 });
      expect((await subscription.getMetadata())[0].ackDeadlineSeconds).toBe(60);
      const [names] = await topic.getSubscriptions();
      expect(names.map((s) => s.name)).toEqual([`projects/${PROJECT}/subscriptions/inventory-sub`]);

      // Delete, then the name is free again (as in Pub/Sub).
      await subscription.delete();
      expect(await codeOf(subscription.getMetadata())).toBe(Code.NotFound);
      const [again] = await topic.createSubscription("inventory-sub");
      expect((await again.getMetadata())[0].filter).toBe("");

      expect(await codeOf(pubsub.topic("missing").publishMessage({ data: Buffer.from("x") }))).toBe(
        Code.NotFound,
      );
      expect(
        await codeOf(topic.createSubscription("bad-filter", { filter: "attributes.kind = restock" })),
      ).toBe(Code.InvalidArgument);
      expect(await codeOf(topic.createSubscription("x/y"))).toBe(Code.InvalidArgument);
    });

    it("deletes a topic in use as Pub/Sub does: the name is free at once, its subscription keeps its backlog", async () => {
      const pubsub = clients.create();
      const [topic] = await pubsub.createTopic("churn");
      const [old] = await topic.createSubscription("churn-old");
      await topic.publishMessage({ data: Buffer.from("before") });
      await topic.delete();
      expect(await codeOf(pubsub.topic("churn").getMetadata())).toBe(Code.NotFound);
      expect(await codeOf(pubsub.topic("churn").publishMessage({ data: Buffer.from("x") }))).toBe(
        Code.NotFound,
      );

      const [again] = await pubsub.createTopic("churn");
      const [fresh] = await again.createSubscription("churn-new");
      const id = await again.publishMessage({ data: Buffer.from("after") });
      const got: Message[] = [];
      await consume(
        fresh,
        (m) => {
          got.push(m);
          m.ack();
        },
        () => got.length === 1,
      );
      expect(got.map((m) => [m.id, m.data.toString()])).toEqual([[id, "after"]]);
      // The old subscription still delivers what it had; the retired topic is inactive in Herald.
      const before: Message[] = [];
      await consume(
        old,
        (m) => {
          before.push(m);
          m.ack();
        },
        () => before.length === 1,
      );
      expect(before[0]?.data.toString()).toBe("before");
      const retired = (await t.admin.getSubscription({ name: "churn-old" })).subscription?.topic ?? "";
      expect(retired).toMatch(/^churn\.deleted-\d+$/);
      expect((await t.admin.getTopic({ code: retired })).topic?.isActive).toBe(false);
    });

    it("answers UNIMPLEMENTED, saying so, for schemas, IAM and snapshot tags; exactly-once only with pull", async () => {
      const pubsub = clients.create();
      const [topic] = await pubsub.createTopic("unsupported");
      await topic.createSubscription("unsupported-sub");
      expect(await codeOf(pubsub.createSchema("s", "AVRO", "{}"))).toBe(Code.Unimplemented);
      expect(await codeOf(topic.iam.getPolicy())).toBe(Code.Unimplemented);
      // Exactly-once delivery is supported (test/e2e/exactly-once.test.ts), but not with push.
      expect(
        await codeOf(
          topic.createSubscription("eod", {
            enableExactlyOnceDelivery: true,
            pushConfig: { pushEndpoint: "https://hooks.example.com/in" },
          }),
        ),
      ).toBe(Code.InvalidArgument);
      // The message says what is not supported (raw connect client, to read it exactly).
      const raw = createClient(Subscriber, createGrpcTransport({ baseUrl: t.server.url }));
      const error = await raw
        .createSnapshot({
          name: `projects/${PROJECT}/snapshots/tagged`,
          subscription: `projects/${PROJECT}/subscriptions/unsupported-sub`,
          tags: { "123/environment": "production" },
        })
        .catch((e: unknown) => ConnectError.from(e));
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).rawMessage).toBe("Herald does not support tags");
    });

    it("pushes the Pub/Sub envelope, and raw data with metadata headers for no_wrapper", async () => {
      const sink = await startWebhookSink();
      try {
        const pubsub = clients.create();
        const [topic] = await pubsub.createTopic("pushed");
        await topic.createSubscription("pushed-wrapped", { pushConfig: { pushEndpoint: `${sink.url}/w` } });
        await topic.createSubscription("pushed-raw", {
          pushConfig: { pushEndpoint: `${sink.url}/r`, noWrapper: { writeMetadata: true } },
        });
        await t.server.refreshPushers();
        const id = await topic.publishMessage({
          data: Buffer.from("hello push"),
          attributes: { region: "eu" },
        });
        await until(() => sink.received.length >= 2, 20_000, "two pushes");
        const wrapped = sink.received.find((p) => p.json !== undefined);
        const raw = sink.received.find((p) => p.json === undefined);
        expect(wrapped?.json).toMatchObject({
          subscription: `projects/${PROJECT}/subscriptions/pushed-wrapped`,
          message: { messageId: id, attributes: { region: "eu" } },
        });
        expect(Buffer.from(wrapped?.json.message.data ?? "", "base64").toString()).toBe("hello push");
        expect(wrapped?.headers["content-type"]).toBe("application/json");
        expect(raw?.raw.toString()).toBe("hello push");
        expect(raw?.headers).toMatchObject({
          "x-goog-pubsub-subscription-name": `projects/${PROJECT}/subscriptions/pushed-raw`,
          "x-goog-pubsub-message-id": id,
          region: "eu",
        });
        expect(raw?.headers["webhook-signature"]).toMatch(/^v1,/);

        // ModifyPushConfig with an empty config turns it into a pull subscription.
        await pubsub.subscription("pushed-wrapped").modifyPushConfig({});
        const herald = (await t.admin.getSubscription({ name: "pushed-wrapped" })).subscription;
        expect(herald?.deliveryType).toBe(DeliveryType.PULL);
      } finally {
        await sink.close();
      }
    });

    it("delivers only what the attribute filter matches; rejected messages are never queued", async () => {
      const pubsub = clients.create();
      const [topic] = await pubsub.createTopic("filtered");
      const [subscription] = await topic.createSubscription("filtered-sub", {
        filter: '(attributes.region = "eu" OR hasPrefix(attributes.region, "us-")) AND NOT attributes:test',
      });
      const cases: [Record<string, string>, boolean][] = [
        [{ region: "eu" }, true],
        [{ region: "us-east" }, true],
        [{ region: "eu", test: "1" }, false],
        [{ region: "asia" }, false],
        [{}, false],
        [{ region: "us-" }, true],
      ];
      const ids = await Promise.all(
        cases.map(([attributes], i) => topic.publishMessage({ data: Buffer.from(`f${i}`), attributes })),
      );
      const expected = ids.filter((_, i) => cases[i]?.[1]);
      const got: Message[] = [];
      await consume(
        subscription,
        (m) => {
          got.push(m);
          m.ack();
        },
        () => got.length === expected.length,
      );
      expect(got.map((m) => m.id).sort()).toEqual([...expected].sort());
      const queued = await t.admin.listQueueItems({ subscription: "filtered-sub" });
      expect(queued.queueItems.map((q) => q.messageId).sort()).toEqual([...expected].sort());

      // The same filter language on Herald's own subscriptions, beside the identifier glob.
      const subscriber = await t.admin.createSubscriber({ clientId: 9n, name: "filters", webhookUrl: "" });
      await t.admin.createSubscription({
        name: "herald-filtered",
        subscriberId: subscriber.subscriber?.id ?? 0n,
        topic: "filtered",
        identifier: "order-*",
        deliveryType: DeliveryType.PULL,
        filter: 'attributes.region = "eu"',
      });
      const raw = createClient(Publisher, createGrpcTransport({ baseUrl: t.server.url }));
      await raw.publish({
        topic: `projects/${PROJECT}/topics/filtered`,
        messages: [create(PubsubMessageSchema, { data: Buffer.from("x"), attributes: { region: "eu" } })],
      });
      await t.publisher.publish({
        publisher: "google-pubsub",
        topic: "filtered",
        messages: [
          { data: Buffer.from("a"), identifier: "order-1", attributes: { region: "eu" } },
          { data: Buffer.from("b"), identifier: "order-2", attributes: { region: "us" } },
          { data: Buffer.from("c"), identifier: "user-1", attributes: { region: "eu" } },
        ],
      });
      const pulled = await t.subscriber.pull({ subscription: "herald-filtered", maxMessages: 10 });
      expect(pulled.receivedMessages.map((r) => r.message?.identifier)).toEqual(["order-1"]);
      await expect(
        t.admin.createSubscription({
          name: "herald-bad-filter",
          subscriberId: subscriber.subscriber?.id ?? 0n,
          topic: "filtered",
          deliveryType: DeliveryType.PULL,
          filter: "attributes.region = ",
        }),
      ).rejects.toMatchObject({ code: Code.InvalidArgument });
    });
  },
);
