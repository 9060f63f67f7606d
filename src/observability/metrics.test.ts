import { afterEach, describe, expect, it } from "vitest";
import type { QueueGaugeRepository, SubscriptionBacklog } from "../app/ports/queue-gauge-repository.js";
import { FakeClock } from "../domain/clock.js";
import { createJsonLogger } from "../logger.js";
import { HeraldMetrics, type MetricSources } from "./metrics.js";
import { MetricsServer } from "./metrics-server.js";

/** The value of one sample line, e.g. `herald_deliveries_total{method="pull",outcome="sent"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

class FakeGauges implements QueueGaugeRepository {
  rows: SubscriptionBacklog[] = [];
  unresolved = 0;
  isReachable = true;
  async backlogBySubscription(): Promise<SubscriptionBacklog[]> {
    if (!this.isReachable) throw new Error("database unreachable");
    return this.rows;
  }
  async countUnresolvedDeadLetters(): Promise<number> {
    if (!this.isReachable) throw new Error("database unreachable");
    return this.unresolved;
  }
}

function attached(gauges: FakeGauges, clock: FakeClock, overrides: Partial<MetricSources> = {}) {
  const metrics = new HeraldMetrics(createJsonLogger("silent"));
  metrics.attach({
    queueGauges: gauges,
    clock,
    openStreams: () => 3,
    webhookInflight: () => 7,
    bufferedRequestBytes: () => 0,
    dbPool: () => ({ used: 2, free: 5 }),
    ...overrides,
  });
  return metrics;
}

describe("HeraldMetrics", () => {
  it("counts publishes and delivery outcomes, and starts every method × outcome at 0", async () => {
    const metrics = attached(new FakeGauges(), new FakeClock(0));
    metrics.messagesPublished("orders", 3);
    metrics.messagesPublished("orders", 2);
    metrics.deliveryOutcome("pull", "sent", 4);
    metrics.deliveryOutcome("webhook", "dead_lettered", 1);
    const text = await metrics.scrape();
    expect(sample(text, 'herald_published_messages_total{topic="orders"}')).toBe(5);
    expect(sample(text, 'herald_deliveries_total{method="pull",outcome="sent"}')).toBe(4);
    expect(sample(text, 'herald_deliveries_total{method="webhook",outcome="dead_lettered"}')).toBe(1);
    expect(sample(text, 'herald_deliveries_total{method="grpc",outcome="expired"}')).toBe(0);
  });

  it("observes latency and transaction durations in seconds", async () => {
    const metrics = attached(new FakeGauges(), new FakeClock(0));
    metrics.deliveryAcked("grpc", 1_500);
    metrics.claimFinished(2);
    metrics.publishTransactionFinished(30);
    const text = await metrics.scrape();
    expect(sample(text, 'herald_delivery_latency_seconds_sum{method="grpc"}')).toBe(1.5);
    expect(sample(text, 'herald_delivery_latency_seconds_bucket{le="1",method="grpc"}')).toBe(0);
    expect(sample(text, 'herald_delivery_latency_seconds_bucket{le="2.5",method="grpc"}')).toBe(1);
    expect(sample(text, "herald_claim_duration_seconds_sum")).toBe(0.002);
    expect(sample(text, "herald_publish_transaction_duration_seconds_sum")).toBe(0.03);
  });

  it("reads the queue gauges at scrape time and drops deleted subscriptions", async () => {
    const gauges = new FakeGauges();
    const clock = new FakeClock(100_000);
    const metrics = attached(gauges, clock);
    gauges.rows = [
      { subscriptionName: "a", unacked: 4, oldestUnackedAtMs: 90_000 },
      { subscriptionName: "b", unacked: 0, oldestUnackedAtMs: null },
    ];
    gauges.unresolved = 2;
    let text = await metrics.scrape();
    expect(sample(text, 'herald_subscription_backlog{subscription="a"}')).toBe(4);
    expect(sample(text, 'herald_subscription_oldest_unacked_age_seconds{subscription="a"}')).toBe(10);
    expect(sample(text, 'herald_subscription_backlog{subscription="b"}')).toBe(0);
    expect(sample(text, 'herald_subscription_oldest_unacked_age_seconds{subscription="b"}')).toBe(0);
    expect(sample(text, "herald_dead_letters_unresolved")).toBe(2);
    expect(sample(text, "herald_metrics_database_up")).toBe(1);

    gauges.rows = [{ subscriptionName: "a", unacked: 1, oldestUnackedAtMs: 95_000 }];
    text = await metrics.scrape();
    expect(sample(text, 'herald_subscription_backlog{subscription="a"}')).toBe(1);
    expect(sample(text, 'herald_subscription_backlog{subscription="b"}')).toBeUndefined();
  });

  it("reports the instance gauges from their sources", async () => {
    const text = await attached(new FakeGauges(), new FakeClock(0)).scrape();
    expect(sample(text, "herald_open_streams")).toBe(3);
    expect(sample(text, "herald_webhook_inflight")).toBe(7);
    expect(sample(text, "herald_db_pool_used")).toBe(2);
    expect(sample(text, "herald_db_pool_size")).toBe(7);
  });

  it("still serves the other metrics when the database gauges cannot be read", async () => {
    const gauges = new FakeGauges();
    const metrics = attached(gauges, new FakeClock(0));
    gauges.rows = [{ subscriptionName: "a", unacked: 4, oldestUnackedAtMs: 0 }];
    await metrics.scrape();
    gauges.isReachable = false;
    metrics.messagesPublished("t", 1);
    const text = await metrics.scrape();
    expect(sample(text, "herald_metrics_database_up")).toBe(0);
    expect(sample(text, 'herald_subscription_backlog{subscription="a"}')).toBeUndefined();
    expect(sample(text, 'herald_published_messages_total{topic="t"}')).toBe(1);
  });

  it("keeps separate counts per instance (no global registry)", async () => {
    const one = attached(new FakeGauges(), new FakeClock(0));
    const two = attached(new FakeGauges(), new FakeClock(0));
    one.messagesPublished("t", 1);
    expect(sample(await two.scrape(), 'herald_published_messages_total{topic="t"}')).toBeUndefined();
  });
});

describe("MetricsServer", () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.stop();
  });

  it("serves GET /metrics in the Prometheus text format, 404 elsewhere, 405 for other methods", async () => {
    const metrics = attached(new FakeGauges(), new FakeClock(0));
    metrics.messagesPublished("t", 2);
    server = new MetricsServer(metrics, createJsonLogger("silent"));
    const url = await server.start({ host: "127.0.0.1", port: 0 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toContain("text/plain");
    expect(sample(await ok.text(), 'herald_published_messages_total{topic="t"}')).toBe(2);
    expect((await fetch(new URL("/other", url))).status).toBe(404);
    expect((await fetch(url, { method: "POST" })).status).toBe(405);
  });

  it("tolerates a double stop and a stop before start", async () => {
    const s = new MetricsServer(attached(new FakeGauges(), new FakeClock(0)), createJsonLogger("silent"));
    await s.stop();
    await s.stop();
  });
});
