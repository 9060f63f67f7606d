/** The validated configuration Herald runs with (built only by config.ts's loadConfig). */
import type { EventsConfig } from "./events-config.js";
import type { PushAuthConfig } from "./push-auth-config.js";

import type { TracingConfig } from "./tracing-config.js";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface HeraldConfig {
  /** Host to bind, e.g. "127.0.0.1" or "0.0.0.0". */
  host: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** `sqlite:<path>` or `mysql://user:pass@host:port/db`. */
  databaseUrl: string;
  /** Most connections in the MySQL pool. */
  dbPoolMax: number;
  /** Longest one MySQL query may take before its connection is dropped and the call answers UNAVAILABLE, ms. */
  dbQueryTimeoutMs: number;
  /** Session wsrep_sync_wait on Galera nodes (0–15); ignored on servers without Galera. */
  dbWsrepSyncWait: number;
  /** How long a dedup_id is remembered per publisher, ms. */
  dedupWindowMs: number;
  /** Most messages and payload bytes waiting for (or in) a publish group commit on this instance. */
  publishQueue: { maxMessages: number; maxBytes: number };
  logLevel: LogLevel;
  /** How long SIGTERM waits for open calls before closing connections, ms. */
  shutdownGraceMs: number;
  /** First interval between polls of an idle consumer (doubling up to pollMaxMs), ms. */
  pollMinMs: number;
  /** Longest interval between polls of an idle consumer for work published on other instances, ms. */
  pollMaxMs: number;
  /** How often expired leases and expired items are swept, ms. */
  sweepIntervalMs: number;
  /** Most Subscribe streams open at once on this instance. */
  maxOpenStreams: number;
  /** Most Subscribe/StreamingPull streams one API key (or the admin tokens together) holds open on this instance. */
  maxStreamsPerKey: number;
  /** Most grpc.health.v1 Health.Watch streams open at once on this instance (they need no credentials). */
  maxHealthWatches: number;
  /** Most message bytes in one Pull response, stream batch or push claim (one larger message travels alone). */
  maxResponseBytes: number;
  /** How often an open stream re-checks its credentials and subscription (revoked, deactivated, deleted), ms. */
  streamRecheckMs: number;
  /** How long delivered queue rows, notification logs and unreferenced messages are kept, ms. */
  retentionMs: number;
  /** How often retention pruning runs, ms. */
  retentionIntervalMs: number;
  webhooks: WebhookConfig;
  pushAuth: PushAuthConfig;
  events: EventsConfig;
  auth: AuthConfig;
  transport: TransportConfig;
  /** Where GET /metrics (Prometheus) is served; undefined when HERALD_METRICS_ADDR is empty (disabled). */
  metricsAddr?: { host: string; port: number };
  /**
   * Publisher code the google.pubsub.v1 API publishes as when the caller is not a publisher (auth
   * off, or an admin token); created on first use. Dead-letter forwards are published as it too.
   */
  pubsubPublisher: string;
  /**
   * AES-256 keys (HERALD_SECRET_KEYS) sealing webhook signing secrets at rest; the first seals,
   * all open. Empty: secrets are stored as issued (Herald warns at start).
   */
  secretKeys: readonly Buffer[];
  metrics: MetricsConfig;
  /** Serve the web console at /console/ on the main port (HERALD_CONSOLE_ENABLED, default true). */
  isConsoleEnabled: boolean;
  /** OpenTelemetry tracing (the standard OTEL_* variables); undefined: off, nothing traced or stored. */
  tracing?: TracingConfig;
}

export interface MetricsConfig {
  /** Bearer token GET /metrics requires (HERALD_METRICS_TOKEN); undefined: none. */
  token?: string;
  /** Label series by subscription and topic name (HERALD_METRICS_NAME_LABELS, default true). */
  nameLabels: boolean;
}

export interface TransportConfig {
  /** TLS for the port (HTTP/2 and HTTP/1.1 through ALPN); absent for cleartext HTTP/2. */
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  /** Most concurrent streams one HTTP/2 connection may open. */
  maxStreamsPerConnection: number;
  /** Largest header list a request may send, bytes. */
  maxHeaderBytes: number;
  /** Connections with no open stream for this long are closed, ms. */
  idleTimeoutMs: number;
  /** Most client connections open at once; further ones are closed on accept. */
  maxConnections: number;
  /** Most request body bytes held across the server before calls are refused with RESOURCE_EXHAUSTED, bytes. */
  maxBufferedRequestBytes: number;
  /** Longest a request body (or one message of a request stream) may take to arrive before the call is cut, ms. */
  bodyTimeoutMs: number;
}

export interface AuthConfig {
  /**
   * tokens: every call to Herald's services needs a bearer token. open-loopback: no admin token is
   * configured and Herald binds a loopback address, so authentication is off (development).
   * open-insecure: HERALD_INSECURE=1 turned it off on a non-loopback address.
   */
  mode: "tokens" | "open-loopback" | "open-insecure";
  /** SHA-256 hex of each HERALD_ADMIN_TOKENS entry; the tokens themselves are not kept. */
  adminTokenHashes: string[];
}

export interface WebhookConfig {
  /** Plain http:// endpoints allowed (default: only when Herald itself binds a loopback address). */
  allowHttp: boolean;
  /** "all" allows private/loopback destinations; otherwise the CIDRs allowed despite the SSRF block. */
  allowPrivate: "all" | string[];
  /** Ports pushes may use (inclusive ranges), or "any" (the default). */
  allowedPorts: "any" | [number, number][];
  /** Longest a push request may take (capped further by the subscription's ack deadline), ms. */
  timeoutMs: number;
  /** Largest concurrency window of one push subscription. */
  windowMax: number;
  /** Most push requests in flight on this instance, across subscriptions. */
  maxInflight: number;
  /** A subscription failing with no success for this long is paused, ms. */
  pauseAfterFailingMs: number;
}
