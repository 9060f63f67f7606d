/**
 * The composition root: the only place that knows every layer. It opens the store, builds the
 * use cases, wires the connect routes and owns the HTTP/2 server's lifecycle.
 */
import { setMaxListeners } from "node:events";
import { type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AdminService, file_herald_v1_admin_service } from "../gen/herald/v1/admin_service_pb.js";
import {
  DeadLetterService,
  file_herald_v1_dead_letter_service,
} from "../gen/herald/v1/dead_letter_service_pb.js";
import { file_herald_v1_errors } from "../gen/herald/v1/errors_pb.js";
import { file_herald_v1_publisher_service, PublisherService } from "../gen/herald/v1/publisher_service_pb.js";
import { file_herald_v1_resources } from "../gen/herald/v1/resources_pb.js";
import {
  file_herald_v1_subscriber_service,
  SubscriberService,
} from "../gen/herald/v1/subscriber_service_pb.js";
import { publisherRules, topicRules } from "./app/admin-rules.js";
import { Authenticator } from "./app/authenticator.js";
import { CodedEntityAdmin } from "./app/coded-entity-admin.js";
import { DeadLetterAdmin } from "./app/dead-letter-admin.js";
import { DeadLetterForwarding } from "./app/dead-letter-forwarding.js";
import { DeliveryService } from "./app/delivery-service.js";
import { Inspection } from "./app/inspection.js";
import { prepareInstanceSecrets } from "./app/instance-secrets.js";
import { PublishMessages } from "./app/publish-messages.js";
import { PublisherTopicGrants } from "./app/publisher-topic-grants.js";
import { PubsubIdentities } from "./app/pubsub-identities.js";
import { PubsubTopicDeletion } from "./app/pubsub-topic-deletion.js";
import { PushSettlement } from "./app/push-settlement.js";
import { QueueSweep } from "./app/queue-sweep.js";
import { Retention, type RetentionResult } from "./app/retention.js";
import { SecretBox } from "./app/secret-box.js";
import { isCommitOutcomeUnknown, type Store } from "./app/store.js";
import { SubscriberAdmin } from "./app/subscriber-admin.js";
import { SubscriptionAdmin } from "./app/subscription-admin.js";
import { SubscriptionLookup } from "./app/subscription-lookup.js";
import { type HeraldConfig, isLoopbackHost } from "./config/config.js";
import { type Clock, systemClock } from "./domain/clock.js";
import { ConsumerEngine } from "./engine/consumer-engine.js";
import { DatabaseHealthMonitor } from "./engine/database-health-monitor.js";
import { DeadLetterForwarder } from "./engine/dead-letter-forwarder.js";
import { DestinationPolicy } from "./engine/destination-policy.js";
import { QueueSweeper } from "./engine/queue-sweeper.js";
import { RetentionPruner } from "./engine/retention-pruner.js";
import { Wakeups } from "./engine/wakeups.js";
import { WebhookClient } from "./engine/webhook-client.js";
import { WebhookPusher } from "./engine/webhook-pusher.js";
import { createJsonLogger, dampOutageLogs, type Logger } from "./logger.js";
import { HeraldMetrics } from "./observability/metrics.js";
import { MetricsServer } from "./observability/metrics-server.js";
import { openStore } from "./storage/open-store.js";
import { createAdminHandlers } from "./transport/admin-handlers.js";
import {
  authenticationInterceptor,
  authorizeRoute,
  type RouteAccess,
  withAuthorizedPrincipal,
} from "./transport/authentication.js";
import { createDeadLetterHandlers } from "./transport/dead-letter-handlers.js";
import { errorMappingInterceptor, toConnectError } from "./transport/error-mapping.js";
import { withGrpcUnaryFastPath } from "./transport/grpc-unary-fast-path.js";
import { createHealthRoutes, HealthState } from "./transport/health-service.js";
import { startHttpServer } from "./transport/http-server.js";
import { createPublisherHandlers } from "./transport/publisher-handlers.js";
import { createPubsubRoutes, PUBSUB_FILES, PUBSUB_SERVICE_NAMES } from "./transport/pubsub/pubsub-routes.js";
import { createReflectionRoutes } from "./transport/reflection-service.js";
import { type GatedRoute, gatedRouteOf, RequestGate } from "./transport/request-gate.js";
import { requestLoggingInterceptor } from "./transport/request-logging.js";
import { createSubscriberHandlers } from "./transport/subscriber-handlers.js";
import { HERALD_VERSION } from "./version.js";

/** Largest request message accepted: the 10 MiB publish limit plus protobuf framing and attributes. */
const READ_MAX_BYTES = 12 * 1024 * 1024;

export interface HeraldServer {
  /** Base URL of the listening port, e.g. http://127.0.0.1:8085. */
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  /** The Prometheus scrape URL (http://host:port/metrics) when HERALD_METRICS_ADDR is set. */
  readonly metricsUrl?: string;
  /** The instance's metrics (also served on HERALD_METRICS_ADDR when set). */
  readonly metrics: HeraldMetrics;
  /** Subscribe streams open on this instance. */
  openStreams(): number;
  /** Every registered RPC path ("/pkg.Service/Method") with who may call it and whether the access table names it. */
  routes(): ReadonlyArray<{ path: string; access: RouteAccess; isListed: boolean }>;
  /** Request body bytes held right now across all calls (bounded by HERALD_MAX_BUFFERED_REQUEST_BYTES). */
  bufferedRequestBytes(): number;
  /** Runs one queue sweep now (expired leases and items); the server also sweeps on an interval. */
  sweepNow(): Promise<void>;
  /** Runs one retention prune now and returns what it deleted; the server also prunes on an interval. */
  pruneNow(): Promise<RetentionResult>;
  /** Publishes pending dead letters to their dead-letter topics now (the server also does so every sweep interval). */
  forwardDeadLettersNow(): Promise<void>;
  /** Re-reads PUSH subscriptions now (the server also does so every second). */
  refreshPushers(): Promise<void>;
  /** Stops accepting, ends open calls, closes connections and the database. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
}

export async function startHerald(config: HeraldConfig, options: StartOptions = {}): Promise<HeraldServer> {
  const clock = options.clock ?? systemClock;
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
    secrets,
    logger,
  });
  isOutageError = (error) => store.isUnavailable(error) || isCommitOutcomeUnknown(error);
  try {
    await prepareInstanceSecrets(store, secrets, clock.nowMs(), {
      resealed: (count) =>
        logger.info("webhook signing secrets sealed under the first HERALD_SECRET_KEYS key", { count }),
      storedUnencrypted: () =>
        logger.warn(
          "WEBHOOK SIGNING SECRETS ARE STORED UNENCRYPTED: set HERALD_SECRET_KEYS (openssl rand -base64 32) to seal them at rest",
        ),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  // Counts from the use cases and engines; served only when HERALD_METRICS_ADDR is set.
  const metrics = new HeraldMetrics(logger, { nameLabels: config.metrics.nameLabels });
  const publishing = new PublishMessages(store, clock, config.dedupWindowMs, metrics, config.publishQueue);
  const admin = {
    publishers: new CodedEntityAdmin(store, clock, publisherRules),
    publisherGrants: new PublisherTopicGrants(store),
    topics: new CodedEntityAdmin(store, clock, topicRules),
    subscribers: new SubscriberAdmin(store, clock, config.webhooks),
    subscriptions: new SubscriptionAdmin(store, clock, config.webhooks),
  };
  // Every claim (Pull, streams, push) loads at most maxResponseBytes of messages, one larger alone.
  const deliveries = new DeliveryService(store, clock, Math.random, metrics, {
    maxClaimBytes: config.maxResponseBytes,
  });
  const wakeups = new Wakeups();
  const consumers = new ConsumerEngine(deliveries, wakeups, {
    tuning: {
      claimBatchMax: 500,
      claimMaxBytes: config.maxResponseBytes,
      leaseCheckMs: 250,
    },
    // One probe per subscription with idle consumers, at the longest poll interval.
    idlePollMs: config.pollMaxMs,
    maxOpenStreams: config.maxOpenStreams,
    maxStreamsPerPrincipal: config.maxStreamsPerKey,
    onStreamError: (error) => logger.warn("stream waiting for the database", { error }),
  });
  // A local publish wakes this instance's waiting consumers at once; other instances poll.
  publishing.onPublished((result) => wakeups.notifyTopic(result.topicId));
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
  const pusher = new WebhookPusher(
    store,
    deliveries,
    new PushSettlement(store, clock, config.webhooks.pauseAfterFailingMs, Math.random, metrics),
    new WebhookClient(new DestinationPolicy(config.webhooks.allowPrivate, config.webhooks.allowedPorts), {
      allowHttp: config.webhooks.allowHttp,
      userAgent: `Herald/${HERALD_VERSION}`,
      connectionsPerOrigin: config.webhooks.windowMax,
    }),
    wakeups,
    clock,
    logger,
    {
      tuning: {
        timeoutMs: config.webhooks.timeoutMs,
        windowMax: config.webhooks.windowMax,
        pollMinMs: config.pollMinMs,
        pollMaxMs: config.pollMaxMs,
      },
      maxInflight: config.webhooks.maxInflight,
      refreshMs: 1_000,
      owner: consumers.owner,
    },
  );
  const lookup = new SubscriptionLookup(store, clock);
  const pubsubIdentities = new PubsubIdentities(store, clock, config.pubsubPublisher);
  const forwarder = new DeadLetterForwarder(
    new DeadLetterForwarding(store, publishing, pubsubIdentities),
    logger,
    config.sweepIntervalMs,
  );
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
  if (config.auth.mode !== "tokens") {
    logger.warn(
      config.auth.mode === "open-loopback"
        ? "AUTHENTICATION IS OFF: no HERALD_ADMIN_TOKENS configured; allowed only because Herald binds a loopback address"
        : "AUTHENTICATION IS OFF: HERALD_INSECURE=1 on a non-loopback address; anyone who can reach this port has full access",
      { address: `${config.host}:${config.port}` },
    );
  }
  const health = new HealthState();
  // "" and every herald.v1 service are NOT_SERVING while the database does not answer a ping.
  const databaseHealth = new DatabaseHealthMonitor(store, health, logger, {
    onChange: (isReachable) => metrics.databaseReachabilityChanged(isReachable),
    services: [
      "",
      AdminService.typeName,
      DeadLetterService.typeName,
      PublisherService.typeName,
      SubscriberService.typeName,
      ...PUBSUB_SERVICE_NAMES,
    ],
  });
  const shutdown = new AbortController();
  // connect links every request's signal to this one: many concurrent calls are normal, not a leak.
  setMaxListeners(0, shutdown.signal);

  const publisherHandlers = createPublisherHandlers(publishing);
  // Open streams re-check their credentials and subscription (revoked keys, deactivated
  // subscribers, deleted subscriptions end their streams).
  const streamAccess = {
    reauthenticate: (authorization: string | null) => authenticator.authenticate(authorization),
    lookup,
    recheckMs: config.streamRecheckMs,
  };
  const subscriberHandlers = createSubscriberHandlers(lookup, consumers, streamAccess);
  // Every registered RPC, collected as connect registers them, for the request gate.
  const gatedRoutes = new Map<string, GatedRoute>();
  const routes = (router: ConnectRouter) => {
    registerRoutes(router);
    for (const h of router.handlers) gatedRoutes.set(h.requestPath, gatedRouteOf(h.service, h.method));
  };
  const registerRoutes = (router: ConnectRouter) => {
    router.service(AdminService, createAdminHandlers(admin, new Inspection(store, clock)));
    router.service(DeadLetterService, createDeadLetterHandlers(deadLetters));
    router.service(PublisherService, publisherHandlers);
    router.service(SubscriberService, subscriberHandlers);
    createPubsubRoutes({
      topics: admin.topics,
      topicDeletion: new PubsubTopicDeletion(store, clock, publishing),
      subscriptions: admin.subscriptions,
      publishing,
      identities: pubsubIdentities,
      lookup,
      engine: consumers,
      onAckError: (error) => logger.warn("StreamingPull acks not applied", { error }),
      streamAccess,
    })(router);
    createHealthRoutes(health, { maxWatches: config.maxHealthWatches })(router);
    createReflectionRoutes([
      file_herald_v1_admin_service,
      file_herald_v1_publisher_service,
      file_herald_v1_subscriber_service,
      file_herald_v1_resources,
      file_herald_v1_errors,
      file_herald_v1_dead_letter_service,
      ...PUBSUB_FILES,
    ])(router);
  };
  const interceptors = [
    // Outermost: sees the codes the error mapping produced.
    requestLoggingInterceptor(logger),
    errorMappingInterceptor(
      (error, procedure) => {
        if (!store.isUnavailable(error)) {
          logger.error("request failed", { procedure, error });
          return;
        }
        // Counted each time, logged rate-limited (dampOutageLogs): an outage fails every call.
        // The label is the path only: the URL's authority is whatever the client sent.
        metrics.requestFoundDatabaseUnavailable(procedure.replace(/^[a-z]+:\/\/[^/]*/i, ""));
        logger.warn("request failed: database unavailable", { procedure, error });
      },
      (error) => store.isUnavailable(error),
    ),
    authenticationInterceptor(authenticator),
  ];
  // Node's timers hold at most 2^31-1 ms; a larger client deadline would fire at once.
  const maxTimeoutMs = 2_147_483_647;
  const gate = new RequestGate({
    routes: gatedRoutes,
    authorize: (access, authorization) => authorizeRoute(authenticator, access, authorization),
    toError: (error, procedure) =>
      toConnectError(
        error,
        procedure,
        (e, p) => logger.error("request failed", { procedure: p, error: e }),
        (e) => store.isUnavailable(e),
      ),
    maxBufferedBytes: config.transport.maxBufferedRequestBytes,
    bodyTimeoutMs: config.transport.bodyTimeoutMs,
    onRefused: (procedure, reason, code) => {
      metrics.requestRefused(reason);
      // Debug only: a client hammering the limits must not flood the log; the counter shows it.
      logger.debug("request refused before its handler finished", { procedure, reason, code });
    },
  });
  const contextValues = (req: Parameters<typeof gate.principalOf>[0]) =>
    withAuthorizedPrincipal(createContextValues(), gate.principalOf(req));
  const connectHandler = connectNodeAdapter({
    routes,
    shutdownSignal: shutdown.signal,
    readMaxBytes: READ_MAX_BYTES,
    maxTimeoutMs,
    // No gzip: payloads are mostly opaque bytes that do not shrink, and compressing every
    // response over 1 KiB cost a quarter of the end-to-end CPU in the benchmark.
    acceptCompression: [],
    // Reject unknown JSON fields and enum names (e.g. a misspelt deliveryType) instead of
    // silently ignoring them.
    jsonOptions: { ignoreUnknownFields: false },
    interceptors,
    contextValues,
  });
  // The per-message calls (Publish, Acknowledge) skip connect's generic pipeline in their usual
  // form (gRPC, binary, uncompressed); see grpc-unary-fast-path.ts for why and what stays equal.
  const handler = gate.wrap(
    withGrpcUnaryFastPath(
      {
        methods: [
          { method: PublisherService.method.publish, impl: publisherHandlers.publish },
          { method: SubscriberService.method.acknowledge, impl: subscriberHandlers.acknowledge },
        ],
        interceptors,
        shutdownSignal: shutdown.signal,
        readMaxBytes: READ_MAX_BYTES,
        maxTimeoutMs,
        contextValues,
      },
      connectHandler,
    ),
  );

  const server = await startHttpServer(config.host, config.port, config.transport, handler);
  metrics.attach({
    queueGauges: store.repos.queueGauges,
    clock,
    openStreams: () => consumers.openStreamCount,
    webhookInflight: () => pusher.inflightCount,
    bufferedRequestBytes: () => gate.bufferedRequestBytes,
    dbPool: () => store.poolStats?.(),
    publishQueue: () => publishing.queued(),
  });
  const metricsServer = config.metricsAddr ? new MetricsServer(metrics, logger) : undefined;
  let metricsUrl: string | undefined;
  if (metricsServer && config.metricsAddr) {
    try {
      metricsUrl = await metricsServer.start({
        ...config.metricsAddr,
        ...(config.metrics.token !== undefined ? { token: config.metrics.token } : {}),
      });
    } catch (error) {
      await server.close(0);
      await store.close();
      throw error;
    }
    logger.info("metrics listening", { url: metricsUrl });
    if (!isLoopbackHost(config.metricsAddr.host)) {
      logger.warn("the metrics port is reachable beyond this machine", {
        address: `${config.metricsAddr.host}:${config.metricsAddr.port}`,
        tokenRequired: config.metrics.token !== undefined,
        nameLabels: config.metrics.nameLabels,
        hint: "firewall it, set HERALD_METRICS_TOKEN, or HERALD_METRICS_NAME_LABELS=false to hide topic and subscription names",
      });
    }
  }
  databaseHealth.start();
  sweeper.start();
  pruner.start();
  pusher.start();
  forwarder.start();
  const { url, port } = server;
  const address = url.replace(/^https?:\/\//, "");
  logger.info("herald listening", {
    address,
    url,
    tls: config.transport.tls !== undefined,
    store: store.kind,
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      health.shutdown();
      // Stopped in the same tick: a ping finishing later cannot report SERVING again.
      await databaseHealth.stop();
      await sweeper.stop();
      await pruner.stop();
      await forwarder.stop();
      // In-flight webhook requests finish (bounded by the grace period) and their outcomes are recorded.
      await pusher.stop(config.shutdownGraceMs);
      // Streams end first (UNAVAILABLE, leases given back) while connections are still open.
      await consumers.stop();
      shutdown.abort();
      await server.close(config.shutdownGraceMs);
      await metricsServer?.stop();
      await store.close();
      logger.info("herald stopped");
    })();
    return stopping;
  };
  return {
    metrics,
    url,
    port,
    store,
    metricsUrl,
    stop,
    sweepNow: () => sweeper.runOnce(),
    pruneNow: () => pruner.runOnce(),
    forwardDeadLettersNow: () => forwarder.runOnce(),
    refreshPushers: () => pusher.refresh(),
    openStreams: () => consumers.openStreamCount,
    bufferedRequestBytes: () => gate.bufferedRequestBytes,
    routes: () => [...gatedRoutes].map(([path, route]) => ({ path, ...route })),
  };
}
