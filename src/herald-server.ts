/**
 * The composition root, in two steps: composition/build-graph.ts builds every object from the
 * configuration (opening only the store); `runHerald` starts the parts in order and stops them in
 * reverse, and whatever it opened is closed again if a later step fails (a taken port, say).
 */

import type { RetentionResult } from "./app/admin/retention.js";
import { prepareInstanceSecrets } from "./app/auth/instance-secrets.js";
import type { Store } from "./app/ports/store.js";
import { buildGraph, type HeraldGraph } from "./composition/build-graph.js";
import { ShutdownStack } from "./composition/shutdown-stack.js";
import { type HeraldConfig, isLoopbackHost } from "./config/config.js";
import type { Clock } from "./domain/clock.js";
import type { BackgroundService } from "./engine/background-service.js";
import type { Logger } from "./logger.js";
import type { HeraldMetrics } from "./observability/metrics.js";
import type { RouteAccess } from "./transport/authentication.js";
import { startHttpServer } from "./transport/http-server.js";

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
  /** The adaptive concurrency window of each running push subscription, by subscription id. */
  pushWindows(): Map<bigint, number>;
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
  return runHerald(await buildGraph(config, options));
}

/**
 * Starts a built graph: the store's secrets, the metrics port, the main port, then the engine
 * services, so that background work begins only once the server can be reached. Stop undoes it
 * in reverse. If any step fails, everything started before it, and the store, is stopped before
 * the error is rethrown.
 */
export async function runHerald(graph: HeraldGraph): Promise<HeraldServer> {
  const { config, logger, store, metricsServer, requests } = graph;
  const opened = new ShutdownStack(logger);
  opened.push("store", () => store.close());
  // Stopped after everything else, so the spans of the last calls and pushes are exported.
  const { tracing } = graph;
  if (tracing.shutdown) opened.push("tracing", () => tracing.shutdown?.() ?? Promise.resolve());
  let isRunning = false;
  try {
    await prepareInstanceSecrets(store, graph.secrets, graph.clock.nowMs(), {
      resealed: (count) =>
        logger.info("webhook signing secrets sealed under the first HERALD_SECRET_KEYS key", { count }),
      storedUnencrypted: () =>
        logger.warn(
          "WEBHOOK SIGNING SECRETS ARE STORED UNENCRYPTED: set HERALD_SECRET_KEYS (openssl rand -base64 32) to seal them at rest",
        ),
    });
    warnIfAuthenticationIsOff(config, logger);
    let metricsUrl: string | undefined;
    if (metricsServer && config.metricsAddr) {
      metricsUrl = await metricsServer.start({
        ...config.metricsAddr,
        ...(config.metrics.token !== undefined ? { token: config.metrics.token } : {}),
      });
      opened.push("metrics server", () => metricsServer.stop());
      logger.info("metrics listening", { url: metricsUrl });
      warnIfMetricsArePublic(config, logger);
    }
    const server = await startHttpServer(config.host, config.port, config.transport, requests.handler);
    // Before the pusher starts: every push token names this issuer.
    graph.oidc.useIssuer(config.pushAuth.oidcIssuer ?? server.url);
    opened.push("server", async () => {
      graph.shutdown.abort();
      await server.close(config.shutdownGraceMs);
    });
    // Stopped in reverse: the health monitor first (NOT_SERVING), the consumers last, so their
    // streams end (UNAVAILABLE, leases given back) while connections are still open.
    const services: Array<[string, BackgroundService]> = [
      ["consumer engine", graph.consumers],
      ["webhook pusher", graph.pusher],
      ["dead-letter forwarder", graph.forwarder],
      ["retention pruner", graph.pruner],
      ["queue sweeper", graph.sweeper],
    ];
    for (const [name, service] of services) {
      service.start();
      opened.push(name, () => service.stop());
    }
    graph.databaseHealth.start();
    opened.push("database health monitor", () => {
      graph.health.shutdown();
      // Stopped in the same tick: a ping finishing later cannot report SERVING again.
      return graph.databaseHealth.stop();
    });
    isRunning = true;
    const { url, port } = server;
    logger.info("herald listening", {
      address: url.replace(/^https?:\/\//, ""),
      url,
      tls: config.transport.tls !== undefined,
      store: store.kind,
    });
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= opened.stopAll().then((errors) => {
        logger.info("herald stopped");
        if (errors.length > 0) throw errors[0];
      });
      return stopping;
    };
    return {
      metrics: graph.metrics,
      url,
      port,
      store,
      metricsUrl,
      stop,
      sweepNow: () => graph.sweeper.runOnce(),
      pruneNow: () => graph.pruner.runOnce(),
      forwardDeadLettersNow: () => graph.forwarder.runOnce(),
      refreshPushers: () => graph.pusher.refresh(),
      pushWindows: () => graph.pusher.windowSizes(),
      openStreams: () => graph.consumers.openStreamCount,
      bufferedRequestBytes: () => requests.gate.bufferedRequestBytes,
      routes: () => [...requests.gatedRoutes].map(([path, route]) => ({ path, ...route })),
    };
  } finally {
    // The failure itself is what the caller sees; stopping errors were logged.
    if (!isRunning) await opened.stopAll();
  }
}

function warnIfAuthenticationIsOff(config: HeraldConfig, logger: Logger): void {
  if (config.auth.mode === "tokens") return;
  logger.warn(
    config.auth.mode === "open-loopback"
      ? "AUTHENTICATION IS OFF: no HERALD_ADMIN_TOKENS configured; allowed only because Herald binds a loopback address"
      : "AUTHENTICATION IS OFF: HERALD_INSECURE=1 on a non-loopback address; anyone who can reach this port has full access",
    { address: `${config.host}:${config.port}` },
  );
}

function warnIfMetricsArePublic(config: HeraldConfig, logger: Logger): void {
  if (!config.metricsAddr || isLoopbackHost(config.metricsAddr.host)) return;
  logger.warn("the metrics port is reachable beyond this machine", {
    address: `${config.metricsAddr.host}:${config.metricsAddr.port}`,
    tokenRequired: config.metrics.token !== undefined,
    nameLabels: config.metrics.nameLabels,
    hint: "firewall it, set HERALD_METRICS_TOKEN, or HERALD_METRICS_NAME_LABELS=false to hide topic and subscription names",
  });
}
