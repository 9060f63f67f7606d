import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { isIP } from "node:net";
import {
  isLoopbackHost,
  parseAddr,
  parseAllowedPorts,
  parseBoolVar,
  parseIntVar,
  parseSecretKeys,
  validateDatabaseUrl,
} from "./config-values.js";
import { parseEventsConfig } from "./events-config.js";
import type {
  AuthConfig,
  HeraldConfig,
  LogLevel,
  MetricsConfig,
  TransportConfig,
  WebhookConfig,
} from "./herald-config.js";
import { parsePushAuthConfig } from "./push-auth-config.js";
import { parseTracingConfig } from "./tracing-config.js";

export type {
  AuthConfig,
  HeraldConfig,
  LogLevel,
  MetricsConfig,
  TransportConfig,
  WebhookConfig,
} from "./herald-config.js";
export type { OtlpProtocol, TraceSampler, TracingConfig } from "./tracing-config.js";
export { isLoopbackHost };

/**
 * The only reader of process.env. Every variable is validated once at start; an invalid value
 * stops the start with a message naming the variable.
 */

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

export const CONFIG_DEFAULTS = Object.freeze({
  HERALD_ADDR: "127.0.0.1:8085",
  DATABASE_URL: "sqlite:./data/herald.db",
  HERALD_DB_POOL_MAX: "10",
  HERALD_DB_QUERY_TIMEOUT_MS: "10000",
  HERALD_DB_WSREP_SYNC_WAIT: "3",
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

function parseMetricsConfig(problems: string[], env: Env): MetricsConfig {
  const token = (env.HERALD_METRICS_TOKEN ?? "").trim();
  if (token !== "" && !/^[\x21-\x7e]{16,512}$/.test(token)) {
    problems.push("HERALD_METRICS_TOKEN must be 16..512 printable characters without spaces");
  }
  const nameLabels = parseBoolVar(
    problems,
    "HERALD_METRICS_NAME_LABELS",
    env.HERALD_METRICS_NAME_LABELS,
    true,
  );
  return { ...(token !== "" ? { token } : {}), nameLabels };
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
  const dbWsrepSyncWait = parseIntVar(
    problems,
    "HERALD_DB_WSREP_SYNC_WAIT",
    read(env, "HERALD_DB_WSREP_SYNC_WAIT"),
    0,
    15,
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
  const pushAuth = parsePushAuthConfig(problems, env);
  const events = parseEventsConfig(problems, env);
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
  const isConsoleEnabled = parseBoolVar(problems, "HERALD_CONSOLE_ENABLED", env.HERALD_CONSOLE_ENABLED, true);
  const tracing = parseTracingConfig(problems, env);
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
    dbWsrepSyncWait,
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
    pushAuth,
    events,
    auth,
    transport,
    pubsubPublisher,
    secretKeys: Object.freeze(secretKeys),
    metrics: Object.freeze(metrics),
    isConsoleEnabled,
    ...(metricsAddr ? { metricsAddr: Object.freeze(metricsAddr) } : {}),
    ...(tracing ? { tracing: Object.freeze(tracing) } : {}),
  });
}
