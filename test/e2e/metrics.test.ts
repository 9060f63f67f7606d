import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../src/domain/clock.js";
import { createFixture, text } from "../support/fixtures.js";
import { sampleValue, scrape } from "../support/prometheus-text.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "Prometheus metrics on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    // Publish → ack latency and backlog age follow this clock; the test moves it instead of sleeping.
    const clock = new FakeClock(Date.now());

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(
        db,
        { sweepIntervalMs: 60_000 },
        { clock, env: { HERALD_METRICS_ADDR: "127.0.0.1:0" } },
      );
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    const metric = async (series: string) => sampleValue(await scrape(t.server.metricsUrl), series) ?? 0;
    const deliveries = (method: string, outcome: string) =>
      metric(`herald_deliveries_total{method="${method}",outcome="${outcome}"}`);

    it("serves the scrape on its own port", async () => {
      expect(t.server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(t.server.metricsUrl).not.toContain(`:${t.server.port}/`);
      const body = await scrape(t.server.metricsUrl);
      for (const name of [
        "herald_published_messages_total",
        "herald_deliveries_total",
        "herald_delivery_latency_seconds",
        "herald_subscription_backlog",
        "herald_subscription_oldest_unacked_age_seconds",
        "herald_dead_letters_unresolved",
        "herald_open_streams",
        "herald_webhook_inflight",
        "herald_db_pool_used",
        "herald_db_pool_size",
        "herald_claim_duration_seconds",
        "herald_publish_transaction_duration_seconds",
      ]) {
        expect(body, name).toContain(`# TYPE ${name} `);
      }
      expect(sampleValue(body, "herald_db_pool_size")).toBeGreaterThanOrEqual(1);
      expect(sampleValue(body, "herald_metrics_database_up")).toBe(1);
    });

    it("counts publishes, tracks the backlog and its age, and counts acks with their latency", async () => {
      const f = await createFixture(t);
      const backlog = `herald_subscription_backlog{subscription="${f.subscription}"}`;
      const age = `herald_subscription_oldest_unacked_age_seconds{subscription="${f.subscription}"}`;
      const sentBefore = await deliveries("pull", "sent");
      const latencyBefore = await metric('herald_delivery_latency_seconds_count{method="pull"}');
      const claimsBefore = await metric("herald_claim_duration_seconds_count");
      const publishesBefore = await metric("herald_publish_transaction_duration_seconds_count");
      expect(await metric(backlog)).toBe(0);

      await f.publish([{ data: text("one") }, { data: text("two") }]);
      clock.advanceMs(5_000);
      expect(await metric(`herald_published_messages_total{topic="${f.topic}"}`)).toBe(2);
      expect(await metric("herald_publish_transaction_duration_seconds_count")).toBe(publishesBefore + 1);
      expect(await metric(backlog)).toBe(2);
      expect(await metric(age)).toBe(5);

      const pulled = await t.subscriber.pull({ subscription: f.subscription, maxMessages: 10 });
      expect(pulled.receivedMessages).toHaveLength(2);
      expect(await metric("herald_claim_duration_seconds_count")).toBeGreaterThan(claimsBefore);
      // Leased is not acked: still in the backlog.
      expect(await metric(backlog)).toBe(2);

      await t.subscriber.acknowledge({
        subscription: f.subscription,
        ackIds: pulled.receivedMessages.map((m) => m.ackId),
      });
      expect(await deliveries("pull", "sent")).toBe(sentBefore + 2);
      expect(await metric('herald_delivery_latency_seconds_count{method="pull"}')).toBe(latencyBefore + 2);
      expect(await metric(backlog)).toBe(0);
      expect(await metric(age)).toBe(0);
    });

    it("counts nacks as failed and the last one as dead_lettered, and the unresolved dead letters", async () => {
      const f = await createFixture(t, {
        maxDeliveryAttempts: 2,
        minBackoff: { seconds: 0n },
        maxBackoff: { seconds: 0n },
      });
      const failedBefore = await deliveries("pull", "failed");
      const deadBefore = await deliveries("pull", "dead_lettered");
      const unresolvedBefore = await metric("herald_dead_letters_unresolved");
      await f.publish([{ data: text("poison") }]);
      for (let attempt = 1; attempt <= 2; attempt++) {
        const received = (await t.subscriber.pull({ subscription: f.subscription, maxMessages: 1 }))
          .receivedMessages[0];
        await t.subscriber.modifyAckDeadline({
          subscription: f.subscription,
          ackIds: [received?.ackId ?? ""],
          ackDeadlineSeconds: 0,
        });
      }
      expect(await deliveries("pull", "failed")).toBe(failedBefore + 1);
      expect(await deliveries("pull", "dead_lettered")).toBe(deadBefore + 1);
      expect(await metric("herald_dead_letters_unresolved")).toBe(unresolvedBefore + 1);
      expect(await metric(`herald_subscription_backlog{subscription="${f.subscription}"}`)).toBe(0);
    });

    it("counts items dead-lettered by their TTL as expired", async () => {
      const f = await createFixture(t, { messageTtl: { seconds: 10n } });
      const expiredBefore = await deliveries("pull", "expired");
      await f.publish([{ data: text("late") }]);
      clock.advanceMs(10_001);
      await t.server.sweepNow();
      expect(await deliveries("pull", "expired")).toBe(expiredBefore + 1);
    });

    it("counts open Subscribe streams", async () => {
      const f = await createFixture(t);
      const abort = new AbortController();
      const stream = t.subscriber.subscribe({ subscription: f.subscription }, { signal: abort.signal });
      const iterator = stream[Symbol.asyncIterator]();
      await f.publish([{ data: text("s") }]);
      await iterator.next();
      expect(await metric("herald_open_streams")).toBe(1);
      abort.abort();
      await iterator.next().catch(() => undefined);
      await expect.poll(() => metric("herald_open_streams")).toBe(0);
    });
  },
);
