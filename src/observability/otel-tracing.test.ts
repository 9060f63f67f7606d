import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import type { Message } from "../domain/message.js";
import { OtelTracing } from "./otel-tracing.js";
import { decodeTraceContext, encodeTraceContext } from "./trace-context-codec.js";

const exporter = new InMemorySpanExporter();
const tracing = new OtelTracing(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  "sqlite",
);
afterEach(() => exporter.reset());

const CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const headers = (values: Record<string, string>) => (name: string) => values[name] ?? null;
const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().find((s) => s.name === name) as ReadableSpan;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

function message(traceContext?: string): Message {
  return {
    id: 1n,
    topicId: 1n,
    publisherId: 1n,
    identifier: "",
    orderingKey: "",
    data: new Uint8Array(),
    attributes: {},
    createdAtMs: 0,
    ...(traceContext ? { traceContext } : {}),
  };
}

describe("OtelTracing", () => {
  it("continues the caller's traceparent in the RPC span and stores that span's context with each message", () => {
    const rpc = tracing.startRpc("herald.v1.PublisherService/Publish", headers({ traceparent: CALLER }));
    const [stored] = rpc.run(() => tracing.publishContexts([{ attributes: {} }]));
    rpc.end(0);
    const span = named("herald.v1.PublisherService/Publish");
    expect(span.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(parentOf(span)).toBe("b7ad6b7169203331");
    expect(stored).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });

  it("stores a message's own googclient_traceparent and googclient_tracestate over the current span's", () => {
    const own = "00-11111111111111111111111111111111-2222222222222222-01";
    const rpc = tracing.startRpc("google.pubsub.v1.Publisher/Publish", headers({}));
    const stored = rpc.run(() =>
      tracing.publishContexts([
        { attributes: { googclient_traceparent: own, googclient_tracestate: "vendor=x" } },
        { attributes: { googclient_traceparent: "not a traceparent" } },
      ]),
    );
    rpc.end(0);
    const current = named("google.pubsub.v1.Publisher/Publish").spanContext();
    expect(stored).toEqual([`${own} vendor=x`, `00-${current.traceId}-${current.spanId}-01`]);
  });

  it("stores nothing outside any span", () => {
    expect(tracing.publishContexts([{ attributes: {} }])).toEqual([undefined]);
  });

  it("makes database spans only under a current span, and under the span a group commit resumes", async () => {
    await tracing.database("messages.findMany", async () => undefined);
    expect(spans()).toEqual([]);

    const first = tracing.startRpc("first", headers({}));
    const scope = first.run(() => tracing.capture());
    const second = tracing.startRpc("second", headers({}));
    // The shared transaction runs in the loop the second call started, for the first call.
    await second.run(() =>
      tracing.resume(scope, () => tracing.database("transaction", async () => undefined)),
    );
    await second.run(() =>
      tracing.resume(undefined, () => tracing.database("queue.fanOut", async () => undefined)),
    );
    first.end(0);
    second.end(0);
    expect(parentOf(named("db transaction"))).toBe(named("first").spanContext().spanId);
    expect(spans().some((s) => s.name === "db queue.fanOut")).toBe(false);
  });

  it("records a delivery span linked to each distinct publish only when the claim returned messages", async () => {
    const published = "00-33333333333333333333333333333333-4444444444444444-01";
    const rpc = tracing.startRpc("herald.v1.SubscriberService/Pull", headers({}));
    await rpc.run(() =>
      tracing.deliver(
        "pull",
        "orders",
        async () => [],
        (r) => r,
      ),
    );
    await rpc.run(() =>
      tracing.deliver(
        "pull",
        "orders",
        async () => [message(published), message(published), message()],
        (r) => r,
      ),
    );
    rpc.end(0);
    const deliveries = spans().filter((s) => s.name === "deliver orders");
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]?.links.map((l) => l.context.spanId)).toEqual(["4444444444444444"]);
    expect(deliveries[0]?.attributes["messaging.batch.message_count"]).toBe(3);
    expect(parentOf(deliveries[0] as ReadableSpan)).toBe(
      named("herald.v1.SubscriberService/Pull").spanContext().spanId,
    );
  });

  it("continues the publish in a push and hands its context to the request; an error status above 399", async () => {
    const published = "00-55555555555555555555555555555555-6666666666666666-01 a=b";
    let sent: Readonly<Record<string, string>> = {};
    await tracing.push(
      "hooks",
      message(published),
      "https://user:pw@hooks.example.com:8443/in?token=t",
      async (h) => {
        sent = h;
        return { status: 503 };
      },
    );
    const push = named("deliver hooks");
    expect(push.spanContext().traceId).toBe("55555555555555555555555555555555");
    expect(parentOf(push)).toBe("6666666666666666");
    expect(sent).toEqual({
      traceparent: `00-55555555555555555555555555555555-${push.spanContext().spanId}-01`,
      tracestate: "a=b",
    });
    expect(push.attributes).toMatchObject({
      "server.address": "hooks.example.com",
      "server.port": 8443,
      "http.response.status_code": 503,
    });
    expect(JSON.stringify(push.attributes)).not.toContain("token");
    expect(push.status.code).toBe(2);
  });
});

describe("stored trace context", () => {
  it("round-trips traceparent and tracestate, and refuses what is not W3C", () => {
    const context = decodeTraceContext(`${CALLER} congo=t61rcWkgMzE,rojo=00f067aa0ba902b7`);
    expect(context && encodeTraceContext(context)).toBe(`${CALLER} congo=t61rcWkgMzE,rojo=00f067aa0ba902b7`);
    expect(decodeTraceContext("00-00000000000000000000000000000000-b7ad6b7169203331-01")).toBeUndefined();
    expect(decodeTraceContext("garbage")).toBeUndefined();
  });
});
