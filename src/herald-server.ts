/**
 * The composition root: the only place that knows every layer. It opens the store, builds the
 * use cases, wires the connect routes and owns the HTTP/2 server's lifecycle.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AdminService, file_herald_v1_admin_service } from "../gen/herald/v1/admin_service_pb.js";
import { file_herald_v1_errors } from "../gen/herald/v1/errors_pb.js";
import { file_herald_v1_publisher_service, PublisherService } from "../gen/herald/v1/publisher_service_pb.js";
import { file_herald_v1_resources } from "../gen/herald/v1/resources_pb.js";
import {
  file_herald_v1_subscriber_service,
  SubscriberService,
} from "../gen/herald/v1/subscriber_service_pb.js";
import { publisherRules, topicRules } from "./app/admin-rules.js";
import { CodedEntityAdmin } from "./app/coded-entity-admin.js";
import { DeliveryService } from "./app/delivery-service.js";
import { PublishMessages } from "./app/publish-messages.js";
import { PushSettlement } from "./app/push-settlement.js";
import { QueueSweep } from "./app/queue-sweep.js";
import type { Store } from "./app/store.js";
import { SubscriberAdmin } from "./app/subscriber-admin.js";
import { SubscriptionAdmin } from "./app/subscription-admin.js";
import { SubscriptionLookup } from "./app/subscription-lookup.js";
import type { HeraldConfig } from "./config/config.js";
import { type Clock, systemClock } from "./domain/clock.js";
import { ConsumerEngine } from "./engine/consumer-engine.js";
import { DestinationPolicy } from "./engine/destination-policy.js";
import { QueueSweeper } from "./engine/queue-sweeper.js";
import { Wakeups } from "./engine/wakeups.js";
import { WebhookClient } from "./engine/webhook-client.js";
import { WebhookPusher } from "./engine/webhook-pusher.js";
import { createJsonLogger, type Logger } from "./logger.js";
import { openStore } from "./storage/open-store.js";
import { createAdminHandlers } from "./transport/admin-handlers.js";
import { errorMappingInterceptor } from "./transport/error-mapping.js";
import { createHealthRoutes, HealthState } from "./transport/health-service.js";
import { createPublisherHandlers } from "./transport/publisher-handlers.js";
import { createReflectionRoutes } from "./transport/reflection-service.js";
import { createSubscriberHandlers } from "./transport/subscriber-handlers.js";
import { HERALD_VERSION } from "./version.js";

/** Largest request message accepted: the 10 MiB publish limit plus protobuf framing and attributes. */
const READ_MAX_BYTES = 12 * 1024 * 1024;

export interface HeraldServer {
  /** Base URL of the listening port, e.g. http://127.0.0.1:8085. */
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  /** Runs one queue sweep now (expired leases and items); the server also sweeps on an interval. */
  sweepNow(): Promise<void>;
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
  const logger = options.logger ?? createJsonLogger(config.logLevel);
  const store = await openStore({ databaseUrl: config.databaseUrl, poolMax: config.dbPoolMax });

  const publishing = new PublishMessages(store, clock, config.dedupWindowMs);
  const admin = {
    publishers: new CodedEntityAdmin(store, clock, publisherRules),
    topics: new CodedEntityAdmin(store, clock, topicRules),
    subscribers: new SubscriberAdmin(store, clock, config.webhooks),
    subscriptions: new SubscriptionAdmin(store, clock, config.webhooks),
  };
  const deliveries = new DeliveryService(store, clock);
  const wakeups = new Wakeups();
  const consumers = new ConsumerEngine(deliveries, wakeups, {
    tuning: {
      claimBatchMax: 500,
      pollMinMs: config.pollMinMs,
      pollMaxMs: config.pollMaxMs,
      leaseCheckMs: 250,
    },
    maxOpenStreams: config.maxOpenStreams,
  });
  // A local publish wakes this instance's waiting consumers at once; other instances poll.
  publishing.onPublished((result) => wakeups.notifyTopic(result.topicId));
  const sweeper = new QueueSweeper(new QueueSweep(store, clock), wakeups, logger, config.sweepIntervalMs);
  const pusher = new WebhookPusher(
    store,
    deliveries,
    new PushSettlement(store, clock, config.webhooks.pauseAfterFailingMs),
    new WebhookClient(new DestinationPolicy(config.webhooks.allowPrivate), {
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
  const health = new HealthState();
  const shutdown = new AbortController();

  const routes = (router: ConnectRouter) => {
    router.service(AdminService, createAdminHandlers(admin));
    router.service(PublisherService, createPublisherHandlers(publishing));
    router.service(SubscriberService, createSubscriberHandlers(lookup, consumers));
    createHealthRoutes(health)(router);
    createReflectionRoutes([
      file_herald_v1_admin_service,
      file_herald_v1_publisher_service,
      file_herald_v1_subscriber_service,
      file_herald_v1_resources,
      file_herald_v1_errors,
    ])(router);
  };
  const handler = connectNodeAdapter({
    routes,
    shutdownSignal: shutdown.signal,
    readMaxBytes: READ_MAX_BYTES,
    interceptors: [
      errorMappingInterceptor((error, procedure) => logger.error("internal error", { procedure, error })),
    ],
  });

  // Node's default of 10 MB per session would reset connections carrying one maximal publish.
  const server = http2.createServer({ maxSessionMemory: 64 }, handler);
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  sweeper.start();
  pusher.start();
  const { port } = server.address() as AddressInfo;
  const hostForUrl = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;
  logger.info("herald listening", { address: `${hostForUrl}:${port}`, store: store.kind });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      health.shutdown();
      await sweeper.stop();
      // In-flight webhook requests finish (bounded by the grace period) and their outcomes are recorded.
      await pusher.stop(config.shutdownGraceMs);
      // Streams end first (UNAVAILABLE, leases given back) while connections are still open.
      await consumers.stop();
      shutdown.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      // Clients may hold sessions open; after the grace period they are cut.
      const grace = setTimeout(() => {
        for (const session of sessions) session.destroy();
      }, config.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      await store.close();
      logger.info("herald stopped");
    })();
    return stopping;
  };
  return {
    url,
    port,
    store,
    stop,
    sweepNow: () => sweeper.runOnce(),
    refreshPushers: () => pusher.refresh(),
  };
}
