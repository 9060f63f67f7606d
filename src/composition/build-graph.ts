/**
 * Building the object graph: from the configuration to every use case, engine service and the
 * request handler. Nothing starts here: the only side effect is opening the store (closed again
 * if building fails); herald-server.ts runs the graph.
 */
import { setMaxListeners } from "node:events";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { DeadLetterService } from "../../gen/herald/v1/dead_letter_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";
import { publisherRules, topicRules } from "../app/admin/admin-rules.js";
import { CodedEntityAdmin } from "../app/admin/coded-entity-admin.js";
import { PublisherKeys } from "../app/admin/publisher-keys.js";
import { PublisherTopicGrants } from "../app/admin/publisher-topic-grants.js";
import { Retention } from "../app/admin/retention.js";
import { SubscriberAdmin } from "../app/admin/subscriber-admin.js";
import { SubscriptionAdmin } from "../app/admin/subscription-admin.js";
import { Authenticator } from "../app/auth/authenticator.js";
import { SecretBox } from "../app/auth/secret-box.js";
import { DeliveryService } from "../app/consume/delivery-service.js";
import { DirectTakers } from "../app/consume/direct-takers.js";
import { QueueSweep } from "../app/consume/queue-sweep.js";
import { DeadLetterAdmin } from "../app/dead-letters/dead-letter-admin.js";
import { DeadLetterForwarding } from "../app/dead-letters/dead-letter-forwarding.js";
import { OperationalEvents } from "../app/events/operational-events.js";
import { isCommitOutcomeUnknown, type Store } from "../app/ports/store.js";
import { noTracing, type Tracing } from "../app/ports/tracing.js";
import { PublishMessages } from "../app/publish/publish-messages.js";
import { PubsubIdentities } from "../app/pubsub/pubsub-identities.js";
import { OidcKeyRing } from "../app/push/oidc-key-ring.js";
import { PushSettlement } from "../app/push/push-settlement.js";
import { SnapshotAdmin } from "../app/replay/snapshot-admin.js";
import { SubscriptionSeek } from "../app/replay/subscription-seek.js";
import type { HeraldConfig } from "../config/config.js";
import { type Clock, systemClock } from "../domain/clock.js";
import { ConsumerEngine } from "../engine/consumer-engine.js";
import { DatabaseHealthMonitor } from "../engine/database-health-monitor.js";
import { DeadLetterForwarder } from "../engine/dead-letter-forwarder.js";
import { DestinationPolicy } from "../engine/destination-policy.js";
import { QueueSweeper } from "../engine/queue-sweeper.js";
import { RetentionPruner } from "../engine/retention-pruner.js";
import { Wakeups } from "../engine/wakeups.js";
import { WebhookClient } from "../engine/webhook-client.js";
import { WebhookPusher } from "../engine/webhook-pusher.js";
import { createJsonLogger, dampOutageLogs, type Logger } from "../logger.js";
import { HeraldMetrics } from "../observability/metrics.js";
import { MetricsServer } from "../observability/metrics-server.js";
import { OtelTracing } from "../observability/otel-tracing.js";
import { traceStore } from "../observability/traced-store.js";
import { createTracerProvider } from "../observability/tracer-provider.js";
import { openStore } from "../storage/open-store.js";
import { HealthState } from "../transport/health-service.js";
import { PUBSUB_SERVICE_NAMES } from "../transport/pubsub/pubsub-routes.js";
import { HERALD_VERSION } from "../version.js";
import { buildRequestHandler, type RequestHandling } from "./build-handler.js";
import { PUSH_SUBSCRIPTIONS_REFRESH_MS, STREAM_CLAIM_BATCH_MAX, STREAM_LEASE_CHECK_MS } from "./tuning.js";

export interface BuildOptions {
  clock?: Clock;
  logger?: Logger;
}

/** Everything a running Herald is made of; built once, run by herald-server.ts. */
export interface HeraldGraph {
  readonly config: HeraldConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly secrets: SecretBox;
  /** Open: whoever runs the graph closes it. */
  readonly store: Store;
  /** OpenTelemetry tracing when OTEL_* turned it on (shut down, flushing its spans, on stop); else noTracing. */
  readonly tracing: Tracing & { shutdown?(): Promise<void> };
  readonly metrics: HeraldMetrics;
  /** Set when HERALD_METRICS_ADDR is. */
  readonly metricsServer: MetricsServer | undefined;
  readonly health: HealthState;
  readonly databaseHealth: DatabaseHealthMonitor;
  readonly consumers: ConsumerEngine;
  readonly sweeper: QueueSweeper;
  readonly pruner: RetentionPruner;
  readonly pusher: WebhookPusher;
  readonly forwarder: DeadLetterForwarder;
  /** Signs push tokens; its issuer is set once the server listens. */
  readonly oidc: OidcKeyRing;
  readonly requests: RequestHandling;
  /** Aborted when the server stops: connect ends every open call. */
  readonly shutdown: AbortController;
}

/** Opens the store and builds the graph on it; closes the store again if building fails. */
export async function buildGraph(config: HeraldConfig, options: BuildOptions = {}): Promise<HeraldGraph> {
  // Failures caused by an unreachable database are logged at most once per 10 s per message,
  // without a stack (see dampOutageLogs); the classifier needs the store, opened next.
  let isOutageError: (error: unknown) => boolean = () => false;
  const logger = dampOutageLogs(options.logger ?? createJsonLogger(config.logLevel), (error) =>
    isOutageError(error),
  );
  const secrets = new SecretBox(config.secretKeys);
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    poolMax: config.dbPoolMax,
    queryTimeoutMs: config.dbQueryTimeoutMs,
    wsrepSyncWait: config.dbWsrepSyncWait,
    secrets,
    logger,
  });
  isOutageError = (error) => store.isUnavailable(error) || isCommitOutcomeUnknown(error);
  try {
    return buildOnStore({ config, clock: options.clock ?? systemClock, logger, secrets, store });
  } catch (error) {
    await store.close();
    throw error;
  }
}

interface Foundation {
  config: HeraldConfig;
  clock: Clock;
  logger: Logger;
  secrets: SecretBox;
  store: Store;
}

function buildOnStore({ config, clock, logger, secrets, store: untracedStore }: Foundation): HeraldGraph {
  // Tracing on: the use cases' database work shows as spans under the RPC or delivery it serves.
  const otel = config.tracing
    ? new OtelTracing(createTracerProvider(config.tracing), untracedStore.kind)
    : undefined;
  const tracing: Tracing = otel ?? noTracing;
  const store = otel ? traceStore(untracedStore, otel) : untracedStore;
  // Counts from the use cases and engines; served only when HERALD_METRICS_ADDR is set.
  const metrics = new HeraldMetrics(logger, { nameLabels: config.metrics.nameLabels });
  // Subscribe streams waiting for work take a local publish's deliveries straight from its commit.
  const takers = new DirectTakers();
  const publishing = new PublishMessages(
    store,
    clock,
    config.dedupWindowMs,
    metrics,
    config.publishQueue,
    takers,
    tracing,
  );
  const publishers = new CodedEntityAdmin(store, clock, publisherRules);
  const admin = {
    publishers,
    publisherKeys: new PublisherKeys(publishers),
    publisherGrants: new PublisherTopicGrants(store),
    topics: new CodedEntityAdmin(store, clock, topicRules),
    subscribers: new SubscriberAdmin(store, clock, config.webhooks),
    subscriptions: new SubscriptionAdmin(store, clock, config.webhooks),
    seek: new SubscriptionSeek(store, clock),
    snapshots: new SnapshotAdmin(store, clock),
  };
  // Every claim (Pull, streams, push) loads at most maxResponseBytes of messages, one larger alone.
  const deliveries = new DeliveryService(
    store,
    clock,
    Math.random,
    metrics,
    { maxClaimBytes: config.maxResponseBytes },
    tracing,
  );
  const wakeups = new Wakeups();
  const consumers = new ConsumerEngine(deliveries, wakeups, {
    tuning: {
      claimBatchMax: STREAM_CLAIM_BATCH_MAX,
      claimMaxBytes: config.maxResponseBytes,
      leaseCheckMs: STREAM_LEASE_CHECK_MS,
    },
    // One probe per subscription with idle consumers, at the longest poll interval.
    idlePollMs: config.pollMaxMs,
    maxOpenStreams: config.maxOpenStreams,
    maxStreamsPerPrincipal: config.maxStreamsPerKey,
    onStreamError: (error) => logger.warn("stream waiting for the database", { error }),
    takers,
    tracing,
  });
  // A local publish wakes this instance's waiting consumers at once; other instances poll.
  publishing.onPublished((result) => wakeups.notifyTopic(result.topicId, result.servedSubscriptionIds));
  publishing.onPublished((result, command) =>
    metrics.messagesPublished(command.topic, result.messageIds.length),
  );
  const sweeper = new QueueSweeper(
    new QueueSweep(store, clock, undefined, metrics),
    wakeups,
    logger,
    config.sweepIntervalMs,
  );
  const pruner = new RetentionPruner(
    new Retention(store, { retentionMs: config.retentionMs }),
    clock,
    logger,
    config.retentionIntervalMs,
  );
  const oidc = new OidcKeyRing(store, clock, {
    rotationMs: config.pushAuth.oidcKeyRotationMs,
    overlapMs: config.pushAuth.oidcKeyOverlapMs,
  });
  const pusher = new WebhookPusher({
    store,
    oidc,
    onThrottled: (subscription, waitedMs) => metrics.pushThrottled(subscription.name, waitedMs),
    deliveries,
    settlement: new PushSettlement(
      store,
      clock,
      config.webhooks.pauseAfterFailingMs,
      Math.random,
      metrics,
      new OperationalEvents(
        store,
        publishing,
        clock,
        (event) =>
          logger.warn(`operational event ${event.type}`, {
            ...event,
            time: new Date(event.atMs).toISOString(),
          }),
        (event, error) => logger.warn("could not publish an operational event", { type: event.type, error }),
      ),
      config.events.deadLetterThreshold,
    ),
    client: new WebhookClient(
      new DestinationPolicy(config.webhooks.allowPrivate, config.webhooks.allowedPorts),
      {
        allowHttp: config.webhooks.allowHttp,
        userAgent: `Herald/${HERALD_VERSION}`,
        connectionsPerOrigin: config.webhooks.windowMax,
      },
    ),
    wakeups,
    clock,
    logger,
    tuning: {
      timeoutMs: config.webhooks.timeoutMs,
      windowMax: config.webhooks.windowMax,
      pollMinMs: config.pollMinMs,
      pollMaxMs: config.pollMaxMs,
    },
    maxInflight: config.webhooks.maxInflight,
    refreshMs: PUSH_SUBSCRIPTIONS_REFRESH_MS,
    // In-flight webhook requests finish (bounded by the grace period) and their outcomes are recorded.
    drainMs: config.shutdownGraceMs,
    owner: consumers.owner,
    tracing,
  });
  const pubsubIdentities = new PubsubIdentities(store, clock, config.pubsubPublisher);
  const forwarder = new DeadLetterForwarder(
    new DeadLetterForwarding(store, publishing, pubsubIdentities),
    logger,
    config.sweepIntervalMs,
  );
  admin.seek.onSeeked((id) => wakeups.notifySubscription(id));
  const deadLetters = new DeadLetterAdmin(store, clock);
  deadLetters.onReplayed((ids) => {
    for (const id of ids) wakeups.notifySubscription(id);
  });
  const authenticator = new Authenticator(store, clock, {
    enabled: config.auth.mode === "tokens",
    adminTokenHashes: config.auth.adminTokenHashes,
    // Logged without the secret: at most the key's public prefix.
    onFailure: (reason, keyPrefix) => {
      metrics.authenticationFailed(reason);
      logger.warn("authentication failed", { reason, keyPrefix });
    },
  });
  const health = new HealthState();
  // "" and every herald.v1 service are NOT_SERVING while the database does not answer a ping.
  const databaseHealth = new DatabaseHealthMonitor({
    database: store,
    health: health.reporterFor([
      "",
      AdminService.typeName,
      DeadLetterService.typeName,
      PublisherService.typeName,
      SubscriberService.typeName,
      ...PUBSUB_SERVICE_NAMES,
    ]),
    logger,
    onChange: (isReachable) => metrics.databaseReachabilityChanged(isReachable),
  });
  const shutdown = new AbortController();
  // connect links every request's signal to this one: many concurrent calls are normal, not a leak.
  setMaxListeners(0, shutdown.signal);
  const requests = buildRequestHandler({
    config,
    clock,
    logger,
    store,
    metrics,
    authenticator,
    publishing,
    admin,
    deadLetters,
    pubsubIdentities,
    consumers,
    health,
    tracing,
    oidc,
    shutdownSignal: shutdown.signal,
  });
  metrics.attach({
    queueGauges: store.repos.queueGauges,
    clock,
    openStreams: () => consumers.openStreamCount,
    webhookInflight: () => pusher.inflightCount,
    bufferedRequestBytes: () => requests.gate.bufferedRequestBytes,
    dbPool: () => store.poolStats?.(),
    databaseNode: () => store.databaseNode?.(),
    publishQueue: () => publishing.queued(),
  });
  return {
    config,
    clock,
    logger,
    secrets,
    store: untracedStore,
    tracing: otel ?? noTracing,
    metrics,
    metricsServer: config.metricsAddr ? new MetricsServer(metrics, logger) : undefined,
    health,
    databaseHealth,
    consumers,
    sweeper,
    pruner,
    pusher,
    forwarder,
    oidc,
    requests,
    shutdown,
  };
}
