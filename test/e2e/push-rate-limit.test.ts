/**
 * push_rate_limit_per_second through the real server: the limit holds across instances sharing the
 * database (two instances on MySQL, one on SQLite, whose file is not shared between processes), and
 * the throttled time shows in metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { text } from "../support/fixtures.js";
import { PUSH_TEST_ENV } from "../support/push-env.js";
import { until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { startWebhookSink } from "../support/webhook-sink.js";

const RATE = 40;
const MESSAGES = 240; // six seconds at the limit

async function metricSum(
  server: TestServer,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await server.server.metrics.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "push rate limit on %s",
  (kind, target) => {
    let db: TestDatabase;
    const servers: TestServer[] = [];
    let sink: Awaited<ReturnType<typeof startWebhookSink>>;

    beforeAll(async () => {
      db = await target.create();
      const instances = kind === "mysql" ? 2 : 1;
      for (let i = 0; i < instances; i++) servers.push(await startTestServer(db, {}, { env: PUSH_TEST_ENV }));
      sink = await startWebhookSink();
    });
    afterAll(async () => {
      for (const s of servers) await s.stop();
      await sink?.close();
      await db?.drop();
    });

    it(`holds ${RATE}/s within 10 % across every instance, with throttled time in metrics`, async () => {
      const [first] = servers;
      if (!first) throw new Error("no server");
      await first.admin.createPublisher({ code: "rl-pub", name: "p" });
      await first.admin.createTopic({ code: "rl.topic", name: "t" });
      const { subscriber } = await first.admin.createSubscriber({
        clientId: 8n,
        name: "rl",
        webhookUrl: sink.url,
      });
      const { subscription } = await first.admin.createSubscription({
        name: "rate-limited",
        subscriberId: subscriber?.id ?? 0n,
        topic: "rl.topic",
        deliveryType: DeliveryType.PUSH,
        pushRateLimitPerSecond: RATE,
      });
      expect(subscription?.pushRateLimitPerSecond).toBe(RATE);
      await first.publisher.publish({
        publisher: "rl-pub",
        topic: "rl.topic",
        messages: Array.from({ length: MESSAGES }, (_, i) => ({ data: text(`m${i}`) })),
      });
      for (const s of servers) await s.server.refreshPushers();
      await until(() => sink.received.length >= MESSAGES, 60_000, "every push");
      const times = sink.received.map((p) => p.atMs).sort((a, b) => a - b);
      const spanMs = (times.at(-1) ?? 0) - (times[0] ?? 0);
      const rate = ((times.length - 1) / spanMs) * 1000;
      expect(rate).toBeGreaterThan(RATE * 0.9);
      expect(rate).toBeLessThan(RATE * 1.1);
      expect(new Set(sink.received.map((p) => p.headers["webhook-id"])).size).toBe(MESSAGES);
      // Every instance took part and waited for its slots; nothing failed or was dead-lettered.
      for (const s of servers) {
        expect(
          await metricSum(s, "herald_deliveries_total", { method: "webhook", outcome: "sent" }),
        ).toBeGreaterThan(0);
        expect(await metricSum(s, "herald_push_throttled_seconds_total")).toBeGreaterThan(0);
        expect(await metricSum(s, "herald_deliveries_total", { method: "webhook", outcome: "failed" })).toBe(
          0,
        );
      }
    }, 90_000);
  },
);
