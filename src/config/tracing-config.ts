/**
 * OpenTelemetry tracing settings, from the standard OTEL_* variables (the OpenTelemetry SDK
 * environment specification). config.ts hands the environment in; nothing here reads process.env.
 * Tracing is off unless an OTLP endpoint is set; only OTLP over HTTP is supported.
 */

import { parseIntVar } from "./config-values.js";

export type OtlpProtocol = "http/protobuf" | "http/json";

export type TraceSampler =
  | "always_on"
  | "always_off"
  | "traceidratio"
  | "parentbased_always_on"
  | "parentbased_always_off"
  | "parentbased_traceidratio";

export interface TracingConfig {
  /** Where spans are POSTed: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  endpoint: string;
  /** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL (default http/protobuf). */
  protocol: OtlpProtocol;
  /** Extra request headers (OTEL_EXPORTER_OTLP_HEADERS, then _TRACES_HEADERS), e.g. an API key. */
  headers: Readonly<Record<string, string>>;
  /** Longest one export request may take (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT / _TIMEOUT), ms. */
  exportTimeoutMs: number;
  /** service.name (OTEL_SERVICE_NAME, default "herald"). */
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES (key=value,…); service.name comes from serviceName. */
  resourceAttributes: Readonly<Record<string, string>>;
  /** OTEL_TRACES_SAMPLER (default parentbased_always_on). */
  sampler: TraceSampler;
  /** OTEL_TRACES_SAMPLER_ARG for the ratio samplers, 0..1 (default 1). */
  samplerRatio: number;
  /** Batch span processor (OTEL_BSP_*): delay between exports ms, queue and batch sizes, export timeout ms. */
  batch: {
    scheduleDelayMs: number;
    maxQueueSize: number;
    maxExportBatchSize: number;
    exportTimeoutMs: number;
  };
}

type Env = Record<string, string | undefined>;

const SAMPLERS: readonly TraceSampler[] = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
];

function value(env: Env, name: string): string {
  return (env[name] ?? "").trim();
}

/**
 * The tracing settings, or undefined when tracing is off: no OTLP endpoint set, OTEL_SDK_DISABLED
 * true, or OTEL_TRACES_EXPORTER none. Problems (a bad URL, grpc, an unknown sampler) are pushed
 * naming the variable.
 */
export function parseTracingConfig(problems: string[], env: Env): TracingConfig | undefined {
  if (value(env, "OTEL_SDK_DISABLED").toLowerCase() === "true") return undefined;
  const exporter = value(env, "OTEL_TRACES_EXPORTER").toLowerCase();
  if (exporter === "none") return undefined;
  const tracesEndpoint = value(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const baseEndpoint = value(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  if (tracesEndpoint === "" && baseEndpoint === "") return undefined;
  if (exporter !== "" && exporter !== "otlp") {
    problems.push(`OTEL_TRACES_EXPORTER must be otlp or none (got "${exporter}")`);
  }
  const endpoint = tracesEndpoint !== "" ? tracesEndpoint : `${baseEndpoint.replace(/\/+$/, "")}/v1/traces`;
  const endpointName =
    tracesEndpoint !== "" ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
  if (!isHttpUrl(endpoint)) problems.push(`${endpointName} must be an http:// or https:// URL`);

  const protocolName =
    value(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") !== ""
      ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
      : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const protocol = value(env, protocolName) || "http/protobuf";
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    problems.push(
      `${protocolName} must be http/protobuf or http/json (got "${protocol}"; grpc is not supported)`,
    );
  }

  const sampler = (value(env, "OTEL_TRACES_SAMPLER") || "parentbased_always_on") as TraceSampler;
  if (!SAMPLERS.includes(sampler)) problems.push(`OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(", ")}`);
  const ratioRaw = value(env, "OTEL_TRACES_SAMPLER_ARG") || "1";
  const samplerRatio = Number(ratioRaw);
  if (!/^\d*\.?\d+$/.test(ratioRaw) || samplerRatio > 1) {
    problems.push(`OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1 (got "${ratioRaw}")`);
  }

  const timeoutName =
    value(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") !== ""
      ? "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
      : "OTEL_EXPORTER_OTLP_TIMEOUT";
  const int = (name: string, fallback: string, min: number, max: number) =>
    parseIntVar(problems, name, value(env, name) || fallback, min, max);
  const batch = {
    scheduleDelayMs: int("OTEL_BSP_SCHEDULE_DELAY", "5000", 1, 3_600_000),
    maxQueueSize: int("OTEL_BSP_MAX_QUEUE_SIZE", "2048", 1, 1_000_000),
    maxExportBatchSize: int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512", 1, 1_000_000),
    exportTimeoutMs: int("OTEL_BSP_EXPORT_TIMEOUT", "30000", 1, 3_600_000),
  };
  if (batch.maxExportBatchSize > batch.maxQueueSize) {
    problems.push("OTEL_BSP_MAX_EXPORT_BATCH_SIZE must not exceed OTEL_BSP_MAX_QUEUE_SIZE");
  }
  return {
    endpoint,
    protocol: protocol as OtlpProtocol,
    headers: Object.freeze({
      ...parseKeyValues(problems, "OTEL_EXPORTER_OTLP_HEADERS", value(env, "OTEL_EXPORTER_OTLP_HEADERS")),
      ...parseKeyValues(
        problems,
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        value(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
      ),
    }),
    exportTimeoutMs: int(timeoutName, "10000", 1, 3_600_000),
    serviceName: value(env, "OTEL_SERVICE_NAME") || "herald",
    resourceAttributes: Object.freeze(
      parseKeyValues(problems, "OTEL_RESOURCE_ATTRIBUTES", value(env, "OTEL_RESOURCE_ATTRIBUTES")),
    ),
    sampler,
    samplerRatio: Number.isFinite(samplerRatio) ? samplerRatio : 1,
    batch: Object.freeze(batch),
  };
}

function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * The W3C-baggage-like list the OTel spec uses for headers and resource attributes:
 * `key=value,key2=value2`, values percent-decoded. A malformed entry is a problem naming the
 * variable, without echoing it (headers carry API keys).
 */
function parseKeyValues(problems: string[], name: string, raw: string): Record<string, string> {
  const result: Record<string, string> = {};
  if (raw === "") return result;
  for (const entry of raw.split(",")) {
    const at = entry.indexOf("=");
    const key = at < 0 ? "" : entry.slice(0, at).trim();
    let decoded: string | undefined;
    try {
      decoded = at < 0 ? undefined : decodeURIComponent(entry.slice(at + 1).trim());
    } catch {
      decoded = undefined;
    }
    if (key === "" || decoded === undefined) {
      problems.push(`${name} must be a list of key=value pairs separated by commas`);
      return {};
    }
    result[key] = decoded;
  }
  return result;
}
