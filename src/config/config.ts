import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { isIP } from "node:net";

/**
 * The only reader of process.env. Every variable is validated once at start; an invalid value
 * stops the start with a message naming the variable.
 */

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

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

export const CONFIG_DEFAULTS = Object.freeze({
  HERALD_ADDR: "127.0.0.1:8085",
  DATABASE_URL: "sqlite:./data/herald.db",
  HERALD_DB_POOL_MAX: "10",
  HERALD_DB_QUERY_TIMEOUT_MS: "10000",
  HERALD_DEDUP_WINDOW_SECONDS: "86400",
  HERALD_PUBLISH_QUEUE_MAX_MESSAGES: "50000",
  HERALD_PUBLISH_QUEUE_MAX_BYTES: "134217728",
  HERALD_LOG_LEVEL: "info",
  HERALD_SHUTDOWN_GRACE_SECONDS: "10",
  HERALD_POLL_MIN_MS: "10",
  HERALD_POLL_MAX_MS: "250",
  HERALD_SWEEP_INTERVAL_MS: "1000",
  HERALD_MAX_STREAMS: "10000",
  HERALD_MAX_STREAMS_PER_KEY: "1000",
  HERALD_MAX_HEALTH_WATCHES: "1000",
  HERALD_MAX_RESPONSE_BYTES: "4194304",
  HERALD_STREAM_RECHECK_MS: "5000",
  HERALD_RETENTION_HOURS: "168",
  HERALD_RETENTION_INTERVAL_MS: "60000",
  HERALD_WEBHOOK_ALLOW_HTTP: "auto",
  HERALD_WEBHOOK_ALLOW_PRIVATE: "",
  HERALD_PUSH_ALLOWED_PORTS: "",
  HERALD_PUSH_TIMEOUT_MS: "30000",
  HERALD_PUSH_WINDOW_MAX: "64",
  HERALD_PUSH_MAX_INFLIGHT: "1000",
  HERALD_PUSH_PAUSE_AFTER_SECONDS: "86400",
  HERALD_METRICS_ADDR: "",
  HERALD_PUBSUB_PUBLISHER: "google-pubsub",
});

type Env = Record<string, string | undefined>;

function read(env: Env, name: keyof typeof CONFIG_DEFAULTS): string {
  const value = env[name];
  return value === undefined || value === "" ? CONFIG_DEFAULTS[name] : value;
}

function parseIntVar(problems: string[], name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
    return min;
  }
  return Number(raw);
}

/** Splits "host:port" or "[v6]:port"; reports a problem naming `name` when malformed. */
function parseAddr(problems: string[], raw: string, name = "HERALD_ADDR"): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(raw);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) {
    problems.push(`${name} must be host:port, e.g. 127.0.0.1:8085 (got "${raw}")`);
    return { host: "127.0.0.1", port: 0 };
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

function validateDatabaseUrl(problems: string[], raw: string): void {
  if (raw.startsWith("sqlite:")) {
    if (raw.length === "sqlite:".length)
      problems.push("DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/herald.db");
    return;
  }
  if (raw.startsWith("mysql://") || raw.startsWith("mariadb://")) {
    try {
      const url = new URL(raw);
      if (url.pathname.length <= 1)
        problems.push("DATABASE_URL must name a database, e.g. mysql://root@127.0.0.1:3306/herald");
    } catch {
      problems.push("DATABASE_URL is not a valid mysql:// URL");
    }
    return;
  }
  // Do not echo the value: it may contain a password.
  problems.push("DATABASE_URL must start with sqlite: or mysql://");
}

/** Whether `host` is a loopback address (only this machine can reach a port bound to it). */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function parseTransportConfig(problems: string[], env: Env): TransportConfig {
  const cert = (env.HERALD_TLS_CERT ?? "").trim();
  const key = (env.HERALD_TLS_KEY ?? "").trim();
  const ca = (env.HERALD_TLS_CLIENT_CA ?? "").trim();
  let tls: TransportConfig["tls"];
  if (cert !== "" || key !== "") {
    if (cert === "" || key === "") problems.push("HERALD_TLS_CERT and HERALD_TLS_KEY must be set together");
    for (const [name, file] of [
      ["HERALD_TLS_CERT", cert],
      ["HERALD_TLS_KEY", key],
      ["HERALD_TLS_CLIENT_CA", ca],
    ] as const) {
      if (file !== "" && !existsSync(file)) problems.push(`${name} names a file that does not exist`);
    }
    tls = { certFile: cert, keyFile: key, ...(ca !== "" ? { clientCaFile: ca } : {}) };
  } else if (ca !== "") {
    problems.push("HERALD_TLS_CLIENT_CA needs HERALD_TLS_CERT and HERALD_TLS_KEY");
  }
  return {
    ...(tls ? { tls } : {}),
    maxStreamsPerConnection: parseIntVar(
      problems,
      "HERALD_MAX_STREAMS_PER_CONNECTION",
      env.HERALD_MAX_STREAMS_PER_CONNECTION || "100",
      1,
      10_000,
    ),
    maxHeaderBytes: parseIntVar(
      problems,
      "HERALD_MAX_HEADER_BYTES",
      env.HERALD_MAX_HEADER_BYTES || "65536",
      1024,
      1_048_576,
    ),
    idleTimeoutMs: parseIntVar(
      problems,
      "HERALD_IDLE_TIMEOUT_MS",
      env.HERALD_IDLE_TIMEOUT_MS || "300000",
      1_000,
      86_400_000,
    ),
    maxConnections: parseIntVar(
      problems,
      "HERALD_MAX_CONNECTIONS",
      env.HERALD_MAX_CONNECTIONS || "1000",
      1,
      1_000_000,
    ),
    maxBufferedRequestBytes: parseIntVar(
      problems,
      "HERALD_MAX_BUFFERED_REQUEST_BYTES",
      env.HERALD_MAX_BUFFERED_REQUEST_BYTES || String(256 * 1024 * 1024),
      65_536,
      64 * 1024 * 1024 * 1024,
    ),
    bodyTimeoutMs: parseIntVar(
      problems,
      "HERALD_REQUEST_BODY_TIMEOUT_MS",
      env.HERALD_REQUEST_BODY_TIMEOUT_MS || "30000",
      100,
      3_600_000,
    ),
  };
}

function parseAuthConfig(problems: string[], env: Env, host: string): AuthConfig {
  const raw = (env.HERALD_ADMIN_TOKENS ?? "").trim();
  const tokens = raw === "" ? [] : raw.split(",").map((t) => t.trim());
  for (const [i, token] of tokens.entries()) {
    // Never echo a token: say which entry is wrong, not what it is.
    if (!/^[\x21-\x7e]{16,512}$/.test(token) || token.includes(",")) {
      problems.push(`HERALD_ADMIN_TOKENS entry ${i + 1} must be 16..512 printable characters without spaces`);
    }
  }
  const insecure = env.HERALD_INSECURE === "1" || env.HERALD_INSECURE === "true";
  let mode: AuthConfig["mode"] = "tokens";
  if (tokens.length === 0) {
    if (isLoopbackHost(host)) mode = "open-loopback";
    else if (insecure) mode = "open-insecure";
    else {
      problems.push(
        "HERALD_ADMIN_TOKENS is required when HERALD_ADDR is not a loopback address (set HERALD_INSECURE=1 to run without authentication anyway)",
      );
    }
  }
  return { mode, adminTokenHashes: tokens.map((t) => createHash("sha256").update(t, "utf8").digest("hex")) };
}

/** "443,8443,9000-9100" → inclusive ranges; empty → any port. */
function parseAllowedPorts(problems: string[], raw: string): "any" | [number, number][] {
  if (raw.trim() === "") return "any";
  const ranges: [number, number][] = [];
  for (const part of raw.split(",").map((p) => p.trim())) {
    const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (!match || from < 1 || to > 65535 || from > to) {
      problems.push(
        `HERALD_PUSH_ALLOWED_PORTS has an invalid entry "${part}" (use e.g. 443,8443 or 8000-8999)`,
      );
      continue;
    }
    ranges.push([from, to]);
  }
  return ranges;
}

function parseWebhookConfig(problems: string[], env: Env, host: string): WebhookConfig {
  const allowHttpRaw = read(env, "HERALD_WEBHOOK_ALLOW_HTTP");
  let allowHttp = isLoopbackHost(host);
  if (allowHttpRaw === "true" || allowHttpRaw === "1") allowHttp = true;
  else if (allowHttpRaw === "false" || allowHttpRaw === "0") allowHttp = false;
  else if (allowHttpRaw !== "auto") problems.push("HERALD_WEBHOOK_ALLOW_HTTP must be auto, true or false");
  const privateRaw = read(env, "HERALD_WEBHOOK_ALLOW_PRIVATE").trim();
  let allowPrivate: "all" | string[] = [];
  if (privateRaw === "1" || privateRaw === "true" || privateRaw === "all") allowPrivate = "all";
  else if (privateRaw !== "") {
    allowPrivate = privateRaw.split(",").map((c) => c.trim());
    for (const cidr of allowPrivate) {
      const [address, bits] = cidr.split("/");
      const family = address ? isIP(address) : 0;
      const max = family === 6 ? 128 : 32;
      if (family === 0 || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max))) {
        problems.push(
          `HERALD_WEBHOOK_ALLOW_PRIVATE has an invalid CIDR "${cidr}" (use e.g. 127.0.0.1/32,10.0.0.0/8, or "all")`,
        );
      }
    }
  }
  return {
    allowHttp,
    allowPrivate,
    allowedPorts: parseAllowedPorts(problems, read(env, "HERALD_PUSH_ALLOWED_PORTS")),
    timeoutMs: parseIntVar(
      problems,
      "HERALD_PUSH_TIMEOUT_MS",
      read(env, "HERALD_PUSH_TIMEOUT_MS"),
      100,
      600_000,
    ),
    windowMax: parseIntVar(
      problems,
      "HERALD_PUSH_WINDOW_MAX",
      read(env, "HERALD_PUSH_WINDOW_MAX"),
      1,
      10_000,
    ),
    maxInflight: parseIntVar(
      problems,
      "HERALD_PUSH_MAX_INFLIGHT",
      read(env, "HERALD_PUSH_MAX_INFLIGHT"),
      1,
      100_000,
    ),
    pauseAfterFailingMs:
      parseIntVar(
        problems,
        "HERALD_PUSH_PAUSE_AFTER_SECONDS",
        read(env, "HERALD_PUSH_PAUSE_AFTER_SECONDS"),
        1,
        365 * 86400,
      ) * 1000,
  };
}

/** HERALD_SECRET_KEYS: comma-separated base64 (or base64url) encodings of 32 random bytes each. */
function parseSecretKeys(problems: string[], raw: string): Buffer[] {
  const entries = raw.trim() === "" ? [] : raw.split(",").map((e) => e.trim());
  const keys: Buffer[] = [];
  for (const [i, entry] of entries.entries()) {
    const key = /^[A-Za-z0-9+/_-]{43}=?$/.test(entry) ? Buffer.from(entry, "base64") : Buffer.alloc(0);
    // Never echo a key: say which entry is wrong, not what it is.
    if (key.length !== 32) {
      problems.push(
        `HERALD_SECRET_KEYS entry ${i + 1} must be the base64 of 32 random bytes (e.g. openssl rand -base64 32)`,
      );
    } else keys.push(key);
  }
  return keys;
}

function parseMetricsConfig(problems: string[], env: Env): MetricsConfig {
  const token = (env.HERALD_METRICS_TOKEN ?? "").trim();
  if (token !== "" && !/^[\x21-\x7e]{16,512}$/.test(token)) {
    problems.push("HERALD_METRICS_TOKEN must be 16..512 printable characters without spaces");
  }
  const labelsRaw = (env.HERALD_METRICS_NAME_LABELS ?? "").trim() || "true";
  if (!["true", "false", "1", "0"].includes(labelsRaw)) {
    problems.push("HERALD_METRICS_NAME_LABELS must be true or false");
  }
  return { ...(token !== "" ? { token } : {}), nameLabels: labelsRaw === "true" || labelsRaw === "1" };
}

/** Reads and validates the configuration; throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): HeraldConfig {
  const problems: string[] = [];
  const { host, port } = parseAddr(problems, read(env, "HERALD_ADDR"));
  const databaseUrl = read(env, "DATABASE_URL");
  validateDatabaseUrl(problems, databaseUrl);
  const dbPoolMax = parseIntVar(problems, "HERALD_DB_POOL_MAX", read(env, "HERALD_DB_POOL_MAX"), 1, 1000);
  const dbQueryTimeoutMs = parseIntVar(
    problems,
    "HERALD_DB_QUERY_TIMEOUT_MS",
    read(env, "HERALD_DB_QUERY_TIMEOUT_MS"),
    100,
    3_600_000,
  );
  const dedupSeconds = parseIntVar(
    problems,
    "HERALD_DEDUP_WINDOW_SECONDS",
    read(env, "HERALD_DEDUP_WINDOW_SECONDS"),
    1,
    30 * 86400,
  );
  const publishQueue = {
    maxMessages: parseIntVar(
      problems,
      "HERALD_PUBLISH_QUEUE_MAX_MESSAGES",
      read(env, "HERALD_PUBLISH_QUEUE_MAX_MESSAGES"),
      1,
      10_000_000,
    ),
    maxBytes: parseIntVar(
      problems,
      "HERALD_PUBLISH_QUEUE_MAX_BYTES",
      read(env, "HERALD_PUBLISH_QUEUE_MAX_BYTES"),
      1,
      64 * 1024 * 1024 * 1024,
    ),
  };
  const graceSeconds = parseIntVar(
    problems,
    "HERALD_SHUTDOWN_GRACE_SECONDS",
    read(env, "HERALD_SHUTDOWN_GRACE_SECONDS"),
    0,
    3600,
  );
  const pollMinMs = parseIntVar(problems, "HERALD_POLL_MIN_MS", read(env, "HERALD_POLL_MIN_MS"), 1, 60_000);
  const pollMaxMs = parseIntVar(problems, "HERALD_POLL_MAX_MS", read(env, "HERALD_POLL_MAX_MS"), 1, 60_000);
  if (pollMinMs > pollMaxMs) problems.push("HERALD_POLL_MIN_MS must not exceed HERALD_POLL_MAX_MS");
  const sweepIntervalMs = parseIntVar(
    problems,
    "HERALD_SWEEP_INTERVAL_MS",
    read(env, "HERALD_SWEEP_INTERVAL_MS"),
    10,
    60_000,
  );
  const maxOpenStreams = parseIntVar(
    problems,
    "HERALD_MAX_STREAMS",
    read(env, "HERALD_MAX_STREAMS"),
    1,
    1_000_000,
  );
  const maxStreamsPerKey = parseIntVar(
    problems,
    "HERALD_MAX_STREAMS_PER_KEY",
    read(env, "HERALD_MAX_STREAMS_PER_KEY"),
    1,
    1_000_000,
  );
  const maxHealthWatches = parseIntVar(
    problems,
    "HERALD_MAX_HEALTH_WATCHES",
    read(env, "HERALD_MAX_HEALTH_WATCHES"),
    0,
    1_000_000,
  );
  const maxResponseBytes = parseIntVar(
    problems,
    "HERALD_MAX_RESPONSE_BYTES",
    read(env, "HERALD_MAX_RESPONSE_BYTES"),
    1024,
    256 * 1024 * 1024,
  );
  const streamRecheckMs = parseIntVar(
    problems,
    "HERALD_STREAM_RECHECK_MS",
    read(env, "HERALD_STREAM_RECHECK_MS"),
    100,
    3_600_000,
  );
  const retentionHours = parseIntVar(
    problems,
    "HERALD_RETENTION_HOURS",
    read(env, "HERALD_RETENTION_HOURS"),
    1,
    10 * 365 * 24,
  );
  const retentionIntervalMs = parseIntVar(
    problems,
    "HERALD_RETENTION_INTERVAL_MS",
    read(env, "HERALD_RETENTION_INTERVAL_MS"),
    1_000,
    86_400_000,
  );
  const webhooks = parseWebhookConfig(problems, env, host);
  const auth = parseAuthConfig(problems, env, host);
  const transport = parseTransportConfig(problems, env);
  const metricsRaw = read(env, "HERALD_METRICS_ADDR");
  const metricsAddr = metricsRaw === "" ? undefined : parseAddr(problems, metricsRaw, "HERALD_METRICS_ADDR");
  const pubsubPublisher = read(env, "HERALD_PUBSUB_PUBLISHER");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(pubsubPublisher)) {
    problems.push("HERALD_PUBSUB_PUBLISHER must be a publisher code: letters, digits, '.', '_' or '-'");
  }
  const secretKeys = parseSecretKeys(problems, env.HERALD_SECRET_KEYS ?? "");
  const metrics = parseMetricsConfig(problems, env);
  const logLevel = read(env, "HERALD_LOG_LEVEL") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`HERALD_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  return Object.freeze({
    host,
    port,
    databaseUrl,
    dbPoolMax,
    dbQueryTimeoutMs,
    dedupWindowMs: dedupSeconds * 1000,
    publishQueue: Object.freeze(publishQueue),
    logLevel,
    shutdownGraceMs: graceSeconds * 1000,
    pollMinMs,
    pollMaxMs,
    sweepIntervalMs,
    maxOpenStreams,
    maxStreamsPerKey,
    maxHealthWatches,
    maxResponseBytes,
    streamRecheckMs,
    retentionMs: retentionHours * 3_600_000,
    retentionIntervalMs,
    webhooks,
    auth,
    transport,
    pubsubPublisher,
    secretKeys: Object.freeze(secretKeys),
    metrics: Object.freeze(metrics),
    ...(metricsAddr ? { metricsAddr: Object.freeze(metricsAddr) } : {}),
  });
}
