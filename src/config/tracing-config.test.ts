import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("tracing configuration (OTEL_*)", () => {
  it("is off unless an OTLP endpoint is set", () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_SERVICE_NAME: "x", OTEL_TRACES_SAMPLER: "always_on" }).tracing).toBeUndefined();
  });

  it("appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT, with the spec's defaults", () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).tracing).toEqual({
      endpoint: "http://collector:4318/v1/traces",
      protocol: "http/protobuf",
      headers: {},
      exportTimeoutMs: 10_000,
      serviceName: "herald",
      resourceAttributes: {},
      sampler: "parentbased_always_on",
      samplerRatio: 1,
      batch: { scheduleDelayMs: 5000, maxQueueSize: 2048, maxExportBatchSize: 512, exportTimeoutMs: 30_000 },
    });
  });

  it("takes the traces-specific variables over the general ones", () => {
    const tracing = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://general:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example.com/otlp/v1/traces",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_HEADERS: "x-team=a,api-key=general",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "api-key=s%20ecret",
      OTEL_EXPORTER_OTLP_TIMEOUT: "5000",
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "2500",
      OTEL_SERVICE_NAME: "herald-eu",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=prod,service.namespace=msg",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
    }).tracing;
    expect(tracing).toMatchObject({
      endpoint: "https://traces.example.com/otlp/v1/traces",
      protocol: "http/json",
      headers: { "x-team": "a", "api-key": "s ecret" },
      exportTimeoutMs: 2500,
      serviceName: "herald-eu",
      resourceAttributes: { "deployment.environment.name": "prod", "service.namespace": "msg" },
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.25,
    });
  });

  it.each([[{ OTEL_SDK_DISABLED: "true" }], [{ OTEL_TRACES_EXPORTER: "none" }]])(
    "is off with %j even when an endpoint is set",
    (off) => {
      expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", ...off }).tracing).toBeUndefined();
    },
  );

  it.each([
    ["OTEL_EXPORTER_OTLP_PROTOCOL", { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }],
    ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector:4318" }],
    ["OTEL_TRACES_SAMPLER", { OTEL_TRACES_SAMPLER: "sometimes" }],
    ["OTEL_TRACES_SAMPLER_ARG", { OTEL_TRACES_SAMPLER_ARG: "1.5" }],
    ["OTEL_TRACES_EXPORTER", { OTEL_TRACES_EXPORTER: "zipkin" }],
    ["OTEL_EXPORTER_OTLP_HEADERS", { OTEL_EXPORTER_OTLP_HEADERS: "no-equals-sign" }],
    ["OTEL_BSP_SCHEDULE_DELAY", { OTEL_BSP_SCHEDULE_DELAY: "soon" }],
  ])("names %s when it is invalid", (name, env) => {
    const load = () => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", ...env });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(name);
  });

  it("never echoes a malformed header list (it may carry an API key)", () => {
    expect(() =>
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_HEADERS: "secret-token-xyz",
      }),
    ).toThrow(expect.objectContaining({ message: expect.not.stringContaining("secret-token-xyz") }));
  });
});
