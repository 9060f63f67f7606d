import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { QueueGaugeRepository } from "../app/ports/queue-gauge-repository.js";
import type { DeliveryOutcome, QueueObserver } from "../app/ports/queue-observer.js";
import type { DatabaseNodeState } from "../app/ports/store.js";
import type { Clock } from "../domain/clock.js";
import { DELIVERY_METHODS, type DeliveryMethod } from "../domain/notification-log.js";
import type { Logger } from "../logger.js";

/** The label value of series aggregated over every topic or subscription (names hidden). */
const ALL_NAMES = "*";
const OUTCOMES: readonly DeliveryOutcome[] = ["sent", "failed", "dead_lettered", "expired"];
/** Database round trips: 1 ms … 5 s. */
const TRANSACTION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Publish → ack: 5 ms … 1 h (retries with backoff reach minutes). */
const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** What the gauges read at scrape time; each source is optional until the server wires it. */
export interface MetricSources {
  /** The scrape-time aggregates (one grouped query each). */
  queueGauges: QueueGaugeRepository;
  /** For the age of the oldest unacked message; the same clock the queue uses. */
  clock: Clock;
  openStreams(): number;
  webhookInflight(): number;
  /** Request body bytes held across all calls (HERALD_MAX_BUFFERED_REQUEST_BYTES bounds it). */
  bufferedRequestBytes(): number;
  /** Pool connections in use and idle, when the store exposes them. */
  dbPool(): { used: number; free: number } | undefined;
  /** Messages and payload bytes waiting for (or in) a publish group commit. */
  publishQueue?(): { messages: number; bytes: number };
  /** The MySQL node in use and whether it is in the primary component (Galera). */
  databaseNode?(): DatabaseNodeState | undefined;
}

/**
 * Herald's Prometheus metrics in a registry of their own (not prom-client's global one, so several
 * servers in one process keep separate counts). Implements the use cases' QueueObserver; the queue
 * gauges are read from the database on each scrape.
 */
export class HeraldMetrics implements QueueObserver {
  readonly registry = new Registry();
  private sources: MetricSources | undefined;
  private refreshing: Promise<void> | undefined;

  private readonly published = new Counter({
    name: "herald_published_messages_total",
    help: "Messages accepted by Publish (a deduplicated repeat counts too), by topic code.",
    labelNames: ["topic"] as const,
    registers: [this.registry],
  });
  private readonly authFailures = new Counter({
    name: "herald_auth_failures_total",
    help: "Refused credentials by reason (missing, malformed, bad_token, unknown_key, expired_key).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  private readonly refused = new Counter({
    name: "herald_requests_refused_total",
    help: "Calls the request gate answered or cut before their handler finished, by reason (unauthorized, buffer_full, body_timeout).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  private readonly deliveries = new Counter({
    name: "herald_deliveries_total",
    help: "Ended delivery attempts by method (grpc, pull, webhook) and outcome: sent (acked), failed (will retry), dead_lettered, expired (TTL passed).",
    labelNames: ["method", "outcome"] as const,
    registers: [this.registry],
  });
  private readonly throttled = new Counter({
    name: "herald_push_throttled_seconds_total",
    help: "Time pushes waited for a send slot of their subscription's push_rate_limit_per_second, by subscription.",
    labelNames: ["subscription"] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "herald_delivery_latency_seconds",
    help: "Time from publish to ack of acked deliveries, by method.",
    labelNames: ["method"] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });
  private readonly backlog = new Gauge({
    name: "herald_subscription_backlog",
    help: "Unacked queue rows (pending, leased or waiting for a retry) of each live subscription, read at scrape.",
    labelNames: ["subscription"] as const,
    registers: [this.registry],
  });
  private readonly oldestAge = new Gauge({
    name: "herald_subscription_oldest_unacked_age_seconds",
    help: "Age of the oldest unacked message of each live subscription (0 when none), read at scrape.",
    labelNames: ["subscription"] as const,
    registers: [this.registry],
  });
  private readonly deadLetters = new Gauge({
    name: "herald_dead_letters_unresolved",
    help: "Dead letters not yet resolved, replayed or purged, read at scrape.",
    registers: [this.registry],
  });
  private readonly databaseUp = new Gauge({
    name: "herald_metrics_database_up",
    help: "1 when this scrape read the database gauges, 0 when that failed (they then keep their last values or drop out).",
    registers: [this.registry],
  });
  private readonly unavailableRequests = new Counter({
    name: "herald_database_unavailable_requests_total",
    help: "Calls answered UNAVAILABLE because the database could not be reached, by procedure (logged at most once per 10 s).",
    labelNames: ["procedure"] as const,
    registers: [this.registry],
  });
  private readonly databaseReachable = new Gauge({
    name: "herald_database_reachable",
    help: "1 while the database answers the health monitor's ping, 0 while it does not.",
    registers: [this.registry],
  });
  private readonly databaseNode: Gauge = new Gauge({
    name: "herald_database_node",
    help: "The MySQL node this instance uses (label node=host:port, value 1); absent on SQLite.",
    labelNames: ["node"],
    registers: [this.registry],
    collect: () => {
      const node = this.sources?.databaseNode?.();
      this.databaseNode.reset();
      if (node) this.databaseNode.set({ node: node.address }, 1);
    },
  });
  private readonly databasePrimary: Gauge = new Gauge({
    name: "herald_database_node_primary",
    help: "1 while the Galera node in use is in the primary component and ready, 0 when it was found not to be; absent without Galera.",
    registers: [this.registry],
    collect: () => {
      const isPrimary = this.sources?.databaseNode?.()?.isPrimary;
      this.databasePrimary.reset();
      if (isPrimary !== undefined) this.databasePrimary.set(isPrimary ? 1 : 0);
    },
  });
  private readonly claimDuration = new Histogram({
    name: "herald_claim_duration_seconds",
    help: "Duration of claim transactions (lock and lease a batch), including empty claims.",
    buckets: TRANSACTION_BUCKETS_S,
    registers: [this.registry],
  });
  private readonly publishDuration = new Histogram({
    name: "herald_publish_transaction_duration_seconds",
    help: "Duration of publish transactions (store messages, dedup ids, fan-out), including retries.",
    buckets: TRANSACTION_BUCKETS_S,
    registers: [this.registry],
  });

  /**
   * `nameLabels` false (HERALD_METRICS_NAME_LABELS=false): series are not labelled with topic and
   * subscription names (which can tell a scraper about the business); each is one series labelled
   * "*" instead — published messages summed, backlogs summed, the oldest age the maximum.
   */
  constructor(
    private readonly logger: Logger,
    private readonly options: { nameLabels: boolean } = { nameLabels: true },
  ) {
    for (const method of DELIVERY_METHODS) {
      for (const outcome of OUTCOMES) this.deliveries.inc({ method, outcome }, 0);
    }
    this.sampled("herald_open_streams", "Subscribe streams open on this instance.", (s) => s.openStreams());
    this.sampled("herald_webhook_inflight", "Webhook push requests in flight on this instance.", (s) =>
      s.webhookInflight(),
    );
    this.sampled(
      "herald_request_buffered_bytes",
      "Request body bytes held right now across all calls (incomplete messages).",
      (s) => s.bufferedRequestBytes(),
    );
    this.sampled(
      "herald_publish_queue_messages",
      "Messages waiting for (or in) a publish group commit on this instance (bounded by HERALD_PUBLISH_QUEUE_MAX_MESSAGES).",
      (s) => s.publishQueue?.().messages,
    );
    this.sampled(
      "herald_publish_queue_bytes",
      "Payload bytes waiting for (or in) a publish group commit on this instance (bounded by HERALD_PUBLISH_QUEUE_MAX_BYTES).",
      (s) => s.publishQueue?.().bytes,
    );
    this.sampled("herald_db_pool_used", "Database pool connections in use.", (s) => s.dbPool()?.used);
    this.sampled("herald_db_pool_size", "Database pool connections open (in use plus idle).", (s) => {
      const pool = s.dbPool();
      return pool && pool.used + pool.free;
    });
  }

  /** Connects the scrape-time gauges to the running server. */
  attach(sources: MetricSources): void {
    this.sources = sources;
  }

  /** The Content-Type of `scrape()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reads the database gauges, then renders every metric in the Prometheus text format. */
  async scrape(): Promise<string> {
    // Concurrent scrapes share one round of queries.
    this.refreshing ??= this.refreshQueueGauges().finally(() => {
      this.refreshing = undefined;
    });
    await this.refreshing;
    return this.registry.metrics();
  }

  authenticationFailed(reason: string): void {
    this.authFailures.inc({ reason });
  }

  requestRefused(reason: "unauthorized" | "buffer_full" | "body_timeout"): void {
    this.refused.inc({ reason });
  }

  requestFoundDatabaseUnavailable(procedure: string): void {
    this.unavailableRequests.inc({ procedure });
  }

  databaseReachabilityChanged(isReachable: boolean): void {
    this.databaseReachable.set(isReachable ? 1 : 0);
  }

  messagesPublished(topic: string, count: number): void {
    this.published.inc({ topic: this.options.nameLabels ? topic : ALL_NAMES }, count);
  }

  deliveryOutcome(method: DeliveryMethod, outcome: DeliveryOutcome, count: number): void {
    this.deliveries.inc({ method, outcome }, count);
  }

  deliveryAcked(method: DeliveryMethod, publishToAckMs: number): void {
    this.latency.observe({ method }, publishToAckMs / 1000);
  }

  pushThrottled(subscription: string, waitedMs: number): void {
    this.throttled.inc({ subscription: this.options.nameLabels ? subscription : ALL_NAMES }, waitedMs / 1000);
  }

  claimFinished(durationMs: number): void {
    this.claimDuration.observe(durationMs / 1000);
  }

  publishTransactionFinished(durationMs: number): void {
    this.publishDuration.observe(durationMs / 1000);
  }

  /** A gauge set from `read` at each scrape; left out while nothing is attached or `read` has no value. */
  private sampled(name: string, help: string, read: (sources: MetricSources) => number | undefined): void {
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [this.registry],
      collect: () => {
        const value = this.sources && read(this.sources);
        if (value !== undefined) gauge.set(value);
      },
    });
  }

  private async refreshQueueGauges(): Promise<void> {
    const sources = this.sources;
    if (!sources) return;
    try {
      const [rows, unresolved] = await Promise.all([
        sources.queueGauges.backlogBySubscription(),
        sources.queueGauges.countUnresolvedDeadLetters(),
      ]);
      const nowMs = sources.clock.nowMs();
      // Reset first, so deleted subscriptions drop out of the scrape.
      this.backlog.reset();
      this.oldestAge.reset();
      const ageSOf = (oldestMs: number | null) =>
        (oldestMs === null ? 0 : Math.max(0, nowMs - oldestMs)) / 1000;
      if (this.options.nameLabels) {
        for (const row of rows) {
          const labels = { subscription: row.subscriptionName };
          this.backlog.set(labels, row.unacked);
          this.oldestAge.set(labels, ageSOf(row.oldestUnackedAtMs));
        }
      } else {
        const labels = { subscription: ALL_NAMES };
        this.backlog.set(
          labels,
          rows.reduce((sum, row) => sum + row.unacked, 0),
        );
        this.oldestAge.set(labels, Math.max(0, ...rows.map((row) => ageSOf(row.oldestUnackedAtMs))));
      }
      this.deadLetters.set(unresolved);
      this.databaseUp.set(1);
    } catch (error) {
      // Per-subscription gauges drop out rather than report stale numbers; databaseUp says why.
      this.backlog.reset();
      this.oldestAge.reset();
      this.databaseUp.set(0);
      this.logger.warn("metrics: reading the queue gauges failed", { error });
    }
  }
}
