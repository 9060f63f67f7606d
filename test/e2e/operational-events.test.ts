/**
 * Operational events through the real server: an endpoint that starts failing, the pause that
 * follows, its recovery and a dead-letter threshold each arrive as JSON on `herald.events` (read
 * here by a PULL subscription, as a user would) and are logged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { createJsonLogger } from "../../src/logger.js";
import { text } from "../support/fixtures.js";
import { PUSH_TEST_ENV } from "../support/push-env.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { startWebhookSink } from "../support/webhook-sink.js";

const ENV = {
  ...PUSH_TEST_ENV,
  HERALD_PUSH_PAUSE_AFTER_SECONDS: "1",
  HERALD_EVENTS_DLQ_THRESHOLD: "2",
};

interface EventJson {
  type: string;
  version: number;
  time: string;
  subscription: string;
  topic: string;
  data: Record<string, unknown>;
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "operational events on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let flaky: Awaited<ReturnType<typeof startWebhookSink>>;
    let broken: Awaited<ReturnType<typeof startWebhookSink>>;
    let isDown = true;
    const logLines: string[] = [];
    const events: EventJson[] = [];

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(
        db,
        {},
        { env: ENV, logger: createJsonLogger("warn", (l) => logLines.push(l)) },
      );
      flaky = await startWebhookSink(() => (isDown ? { status: 503 } : { status: 204 }));
      broken = await startWebhookSink(() => ({ status: 500 }));
    });
    afterAll(async () => {
      await t?.stop();
      await flaky?.close();
      await broken?.close();
      await db?.drop();
    });

    /** Pulls (and acks) from the events subscription until `accept` holds for what arrived. */
    async function eventsUntil(accept: (all: EventJson[]) => boolean, what: string): Promise<EventJson[]> {
      const started = Date.now();
      while (!accept(events)) {
        if (Date.now() - started > 30_000)
          throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events)}`);
        const { receivedMessages } = await t.subscriber.pull({
          subscription: "ops-events",
          maxMessages: 100,
        });
        for (const m of receivedMessages)
          events.push(JSON.parse(new TextDecoder().decode(m.message?.data)) as EventJson);
        if (receivedMessages.length > 0)
          await t.subscriber.acknowledge({
            subscription: "ops-events",
            ackIds: receivedMessages.map((m) => m.ackId),
          });
        else await new Promise((r) => setTimeout(r, 50));
      }
      return events;
    }
    const has = (type: string, subscription: string) => (all: EventJson[]) =>
      all.some((e) => e.type === type && e.subscription === subscription);

    it("publishes failing, paused, recovered and dead-letter threshold events, and logs them", async () => {
      await t.admin.createTopic({ code: "herald.events", name: "events" });
      await t.admin.createPublisher({ code: "ev-pub", name: "p" });
      await t.admin.createTopic({ code: "ev.topic", name: "t" });
      const ops = await t.admin.createSubscriber({ clientId: 4n, name: "ops" });
      await t.admin.createSubscription({
        name: "ops-events",
        subscriberId: ops.subscriber?.id ?? 0n,
        topic: "herald.events",
      });
      const hooks = await t.admin.createSubscriber({ clientId: 5n, name: "hooks", webhookUrl: flaky.url });
      const backoff = {
        minBackoff: { seconds: 0n, nanos: 100_000_000 },
        maxBackoff: { seconds: 0n, nanos: 200_000_000 },
      };
      await t.admin.createSubscription({
        name: "flaky-hook",
        subscriberId: hooks.subscriber?.id ?? 0n,
        topic: "ev.topic",
        deliveryType: DeliveryType.PUSH,
        maxDeliveryAttempts: 100,
        ...backoff,
      });
      await t.admin.createSubscription({
        name: "broken-hook",
        subscriberId: hooks.subscriber?.id ?? 0n,
        topic: "ev.topic",
        deliveryType: DeliveryType.PUSH,
        pushEndpoint: broken.url,
        maxDeliveryAttempts: 1,
        ...backoff,
      });
      await t.server.refreshPushers();
      await t.publisher.publish({
        publisher: "ev-pub",
        topic: "ev.topic",
        messages: [{ data: text("a") }, { data: text("b") }],
      });

      await eventsUntil(has("endpoint.failing", "flaky-hook"), "endpoint.failing");
      await eventsUntil(has("subscription.paused", "flaky-hook"), "subscription.paused");
      await eventsUntil(has("dead_letters.threshold", "broken-hook"), "dead_letters.threshold");
      isDown = false;
      await t.admin.resumeSubscription({ name: "flaky-hook" });
      await t.server.refreshPushers();
      await eventsUntil(has("endpoint.recovered", "flaky-hook"), "endpoint.recovered");

      const failing = events.find((e) => e.type === "endpoint.failing" && e.subscription === "flaky-hook");
      expect(failing).toMatchObject({
        version: 1,
        topic: "ev.topic",
        data: { endpoint: flaky.url, httpStatus: 503 },
      });
      expect(Date.parse(failing?.time ?? "")).not.toBeNaN();
      const paused = events.find((e) => e.type === "subscription.paused");
      expect(String(paused?.data.reason)).toMatch(/every push failed since/);
      expect(events.find((e) => e.type === "dead_letters.threshold")?.data).toEqual({
        threshold: 2,
        unresolved: 2,
      });
      expect(events.find((e) => e.type === "endpoint.recovered")?.data).toMatchObject({
        endpoint: flaky.url,
      });
      // Each crossing once.
      expect(events.filter((e) => e.type === "dead_letters.threshold")).toHaveLength(1);
      const logs = logLines.join("\n");
      for (const type of [
        "endpoint.failing",
        "subscription.paused",
        "dead_letters.threshold",
        "endpoint.recovered",
      ]) {
        expect(logs).toContain(`operational event ${type}`);
      }
    }, 60_000);
  },
);
