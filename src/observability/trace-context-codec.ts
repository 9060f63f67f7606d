/**
 * A message's trace context as Herald stores it (messages.trace_context): the W3C `traceparent`,
 * then a space and the `tracestate` when there is one. Validation is the W3C propagator's, so
 * what is stored and what is sent on is exactly what a W3C header may carry.
 */
import { ROOT_CONTEXT, type SpanContext, trace } from "@opentelemetry/api";
import { TRACE_PARENT_HEADER, TRACE_STATE_HEADER, W3CTraceContextPropagator } from "@opentelemetry/core";

const propagator = new W3CTraceContextPropagator();

/** As the column allows (migration 0009). */
const MAX_STORED_LENGTH = 1024;

type Carrier = Record<string, string>;

const carrierSetter = {
  set: (carrier: Carrier, key: string, value: string) => {
    carrier[key] = value;
  },
};

/** The W3C headers (`traceparent`, `tracestate`) of a span context; empty when it is invalid. */
export function traceHeadersOf(spanContext: SpanContext): Carrier {
  const carrier: Carrier = {};
  propagator.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), carrier, carrierSetter);
  return carrier;
}

/** The remote span context W3C headers name, when `traceparent` is valid. */
export function spanContextFromHeaders(
  header: (name: string) => string | null | undefined,
): SpanContext | undefined {
  const extracted = propagator.extract(ROOT_CONTEXT, undefined, {
    get: (_carrier, key) => header(key) ?? undefined,
    keys: () => [TRACE_PARENT_HEADER, TRACE_STATE_HEADER],
  });
  return trace.getSpanContext(extracted);
}

/** The stored form of a span context; the tracestate is dropped when the whole would not fit the column. */
export function encodeTraceContext(spanContext: SpanContext): string | undefined {
  const headers = traceHeadersOf(spanContext);
  const parent = headers[TRACE_PARENT_HEADER];
  if (parent === undefined) return undefined;
  const state = headers[TRACE_STATE_HEADER];
  const stored = state ? `${parent} ${state}` : parent;
  return stored.length <= MAX_STORED_LENGTH ? stored : parent;
}

/** The span context a stored trace context names; undefined when it is not a valid one. */
export function decodeTraceContext(stored: string): SpanContext | undefined {
  const space = stored.indexOf(" ");
  const parent = space < 0 ? stored : stored.slice(0, space);
  const state = space < 0 ? undefined : stored.slice(space + 1);
  return spanContextFromHeaders((name) =>
    name === TRACE_PARENT_HEADER ? parent : name === TRACE_STATE_HEADER ? state : undefined,
  );
}
