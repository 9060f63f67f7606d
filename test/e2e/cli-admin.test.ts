/**
 * The `herald` admin resource commands end to end: the real binary against a real server with an
 * admin token, on SQLite and MySQL: publishers, topics, subscribers and subscriptions, each
 * list/get/create/update/delete, key and secret rotation, tables and --json.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { ADMIN_TOKEN, CLI_TEST_TIMEOUT_MS, type CliRunner, cliRunner } from "./cli-harness.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "herald admin commands on %s",
  { timeout: CLI_TEST_TIMEOUT_MS },
  (_kind, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let cli: CliRunner;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { env: { HERALD_ADMIN_TOKENS: ADMIN_TOKEN } });
      cli = cliRunner(t.server.url, ADMIN_TOKEN);
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("creates, shows, lists, updates and deletes topics, publishers, subscribers and subscriptions", async () => {
      const topic = await cli.json<{ topic: { code: string; isActive: boolean } }>([
        "topics",
        "create",
        "orders.created",
        "--name",
        "Orders",
      ]);
      expect(topic.topic).toMatchObject({ code: "orders.created", isActive: true });
      await cli.json(["topics", "create", "orders.spare", "--name", "Spare"]);

      const created = await cli.json<{
        publisher: { code: string; allowedTopics: string[] };
        apiKey: string;
      }>([
        "publishers",
        "create",
        "orders-svc",
        "--name",
        "Orders service",
        "--allowed-topic",
        "orders.created",
      ]);
      expect(created.publisher).toMatchObject({ code: "orders-svc", allowedTopics: ["orders.created"] });
      expect(created.apiKey).toMatch(/^hpk_/);

      const subscriber = await cli.json<{
        subscriber: { id: string };
        apiKey: string;
        signingSecret: string;
      }>(["subscribers", "create", "--client-id", "7", "--name", "billing"]);
      expect(subscriber.apiKey).toMatch(/^hsk_/);
      expect(subscriber.signingSecret).toMatch(/^whsec_/);
      const subscriberId = subscriber.subscriber.id;
      const subscription = await cli.json<{ subscription: Record<string, unknown> }>([
        "subscriptions",
        "create",
        "billing-orders",
        "--topic",
        "orders.created",
        "--subscriber-id",
        subscriberId,
        "--ack-deadline",
        "20",
        "--message-ttl",
        "2h",
      ]);
      expect(subscription.subscription).toMatchObject({
        name: "billing-orders",
        topic: "orders.created",
        deliveryType: "DELIVERY_TYPE_PULL",
        ackDeadlineSeconds: 20,
        messageTtl: "7200s",
      });

      // Independent reads in parallel: each is a process start.
      const [topicTable, publisherGet, subscriberList, subscriptionList, subscriptionGet] = await Promise.all(
        [
          cli.run(["topics", "list"]),
          cli.json<{ publisher: { name: string } }>(["publishers", "get", "orders-svc"]),
          cli.json<{ subscribers: Array<{ name: string; clientId: string }> }>([
            "subscribers",
            "list",
            "--client-id",
            "7",
          ]),
          cli.run(["subscriptions", "list", "--topic", "orders.created"]),
          cli.run(["subscriptions", "get", "billing-orders"]),
        ],
      );
      expect(topicTable.code).toBe(0);
      expect(topicTable.stdout.split("\n")[0]).toMatch(/^CODE\s+NAME\s+ACTIVE/);
      expect(topicTable.stdout).toMatch(/orders\.created\s+Orders\s+true/);
      expect(publisherGet.publisher.name).toBe("Orders service");
      expect(subscriberList.subscribers).toEqual([
        expect.objectContaining({ name: "billing", clientId: "7" }),
      ]);
      expect(subscriptionList.stdout).toMatch(/billing-orders\s+orders\.created\s+\d+\s+pull\s+active/);
      expect(subscriptionGet.stdout).toMatch(/^ackDeadlineSeconds:\s+20$/m);
      expect(subscriptionGet.stdout).toMatch(/^messageCount:\s+0$/m);

      const [topicUpdate, publisherUpdate, subscriberUpdate, subscriptionUpdate] = await Promise.all([
        cli.json<{ topic: { isActive: boolean; description: string } }>([
          "topics",
          "update",
          "orders.spare",
          "--active",
          "false",
          "--description",
          "unused",
        ]),
        cli.json<{ publisher: { allowedTopics: string[] } }>([
          "publishers",
          "update",
          "orders-svc",
          "--allowed-topic",
          "*",
        ]),
        cli.json<{ subscriber: { name: string } }>([
          "subscribers",
          "update",
          subscriberId,
          "--name",
          "billing-v2",
        ]),
        cli.json<{ subscription: { maxDeliveryAttempts: number; filter: string } }>([
          "subscriptions",
          "update",
          "billing-orders",
          "--max-delivery-attempts",
          "1",
          "--filter",
          'attributes.kind = "order"',
        ]),
      ]);
      expect(topicUpdate.topic).toEqual(expect.objectContaining({ isActive: false, description: "unused" }));
      expect(publisherUpdate.publisher.allowedTopics).toEqual(["*"]);
      expect(subscriberUpdate.subscriber.name).toBe("billing-v2");
      expect(subscriptionUpdate.subscription).toMatchObject({
        maxDeliveryAttempts: 1,
        filter: 'attributes.kind = "order"',
      });
      const scheduled = await cli.json<{
        subscription: {
          retrySchedule: string[];
          maxDeliveryAttempts: number;
          pushRateLimitPerSecond: number;
        };
      }>([
        "subscriptions",
        "update",
        "billing-orders",
        "--retry-schedule",
        "0s,5s,5m",
        "--push-rate-limit",
        "7",
      ]);
      expect(scheduled.subscription).toMatchObject({
        retrySchedule: ["0s", "5s", "300s"],
        maxDeliveryAttempts: 4,
        pushRateLimitPerSecond: 7,
      });

      const [publisherKey, subscriberKey, subscriberSecret] = await Promise.all([
        cli.json<{ apiKey: string; previousKeyExpireTime?: string }>([
          "publishers",
          "rotate-key",
          "orders-svc",
          "--overlap",
          "0",
        ]),
        cli.run(["subscribers", "rotate-key", subscriberId]),
        cli.json<{ signingSecret: string }>([
          "subscribers",
          "rotate-secret",
          subscriberId,
          "--overlap",
          "1h",
        ]),
      ]);
      expect(publisherKey.apiKey).toMatch(/^hpk_/);
      expect(publisherKey.apiKey).not.toBe(created.apiKey);
      expect(subscriberKey.stdout).toMatch(/^API key \(shown once, store it now\): hsk_/m);
      expect(subscriberSecret.signingSecret).toMatch(/^whsec_/);

      // The old publisher key was revoked at once (overlap 0); the new one publishes.
      const oldKey = await cli.run(
        ["publish", "--publisher", "orders-svc", "--topic", "orders.created", "--data", "x"],
        {
          env: { HERALD_TOKEN: created.apiKey },
        },
      );
      expect(oldKey.code).toBe(10 + 16);
      expect(oldKey.stderr).toMatch(/^herald: UNAUTHENTICATED: /);

      // Deletes: a throwaway subscription, subscriber, topic and publisher.
      const spare = await cli.json<{ subscriber: { id: string } }>([
        "subscribers",
        "create",
        "--client-id",
        "9",
        "--name",
        "tmp",
      ]);
      await cli.json([
        "subscriptions",
        "create",
        "tmp-sub",
        "--topic",
        "orders.created",
        "--subscriber-id",
        spare.subscriber.id,
      ]);
      await cli.json(["publishers", "create", "tmp-pub", "--name", "tmp"]);
      const deletes = await Promise.all([
        cli.run(["subscriptions", "delete", "tmp-sub"]),
        cli.run(["topics", "delete", "orders.spare"]),
        cli.run(["publishers", "delete", "tmp-pub"]),
      ]);
      expect(deletes.map((r) => [r.code, r.stdout.trim()])).toEqual([
        [0, 'deleted subscription "tmp-sub"'],
        [0, 'deleted topic "orders.spare"'],
        [0, 'deleted publisher "tmp-pub"'],
      ]);
      const shown = await cli.json<{ subscriptions: Array<{ name: string; isActive: boolean }> }>([
        "subscriptions",
        "list",
        "--show-deleted",
        "--subscriber-id",
        spare.subscriber.id,
      ]);
      expect(shown.subscriptions).toEqual([expect.objectContaining({ name: "tmp-sub", isActive: false })]);
      const subscriberDelete = await cli.run(["subscribers", "delete", spare.subscriber.id]);
      // It still has a (deleted) subscription: the server refuses, and the CLI says so.
      expect(subscriberDelete.code).toBe(10 + 9);
      expect(subscriberDelete.stderr).toMatch(/^herald: FAILED_PRECONDITION: .+\n$/);
    });
  },
);
