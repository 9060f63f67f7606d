/**
 * The OpenTelemetry SDK set up from Herald's tracing configuration: a tracer provider of its own
 * (never registered as the process-wide global, so several servers in one process, and libraries
 * with their own tracing, do not meet), a batch span processor and an OTLP/HTTP exporter speaking
 * protobuf or JSON. Every value is passed explicitly from src/config.
 */
import { OTLPTraceExporter as OtlpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OtlpProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { TraceSampler, TracingConfig } from "../config/config.js";
import { HERALD_VERSION } from "../version.js";

export function createTracerProvider(config: TracingConfig): BasicTracerProvider {
  const exporterOptions = {
    url: config.endpoint,
    headers: { ...config.headers },
    timeoutMillis: config.exportTimeoutMs,
  };
  const exporter =
    config.protocol === "http/json"
      ? new OtlpJsonExporter(exporterOptions)
      : new OtlpProtobufExporter(exporterOptions);
  return new BasicTracerProvider({
    resource: resourceFromAttributes({
      ...config.resourceAttributes,
      [ATTR_SERVICE_NAME]: config.serviceName,
      [ATTR_SERVICE_VERSION]: HERALD_VERSION,
    }),
    sampler: samplerOf(config.sampler, config.samplerRatio),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: config.batch.scheduleDelayMs,
        maxQueueSize: config.batch.maxQueueSize,
        maxExportBatchSize: config.batch.maxExportBatchSize,
        exportTimeoutMillis: config.batch.exportTimeoutMs,
      }),
    ],
  });
}

function samplerOf(name: TraceSampler, ratio: number): Sampler {
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
