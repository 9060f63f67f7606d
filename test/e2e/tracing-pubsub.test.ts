/**
 * Tracing with the official @google-cloud/pubsub client: with its OpenTelemetry support on, it
 * sends each message's W3C context as the `googclient_traceparent` attribute; Herald stores it
 * and links the StreamingPull delivery to that publisher span.
 */
import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver } from "../support/otlp-receiver.js";
import { consume, pubsubClients } from "../support/pubsub-client.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

// The client application's own tracing (the Pub/Sub client uses the global OpenTelemetry API, and
// keeps the tracer it got first: one provider for the whole file).
const clientSpans = new InMemorySpanExporter();
const clientProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(clientSpans)] });
beforeAll(() => {
  trace.setGlobalTracerProvider(clientProvider);
});
afterAll(async () => {
  trace.disable();
  await clientProvider.shutdown();
});

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "tracing of Pub/Sub client messages on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
    const clients = pubsubClients(() => t.server.url);

    beforeAll(async () => {
      receiver = await startOtlpReceiver();
      db = await target.create();
      t = await startTestServer(db, {}, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    });
    afterAll(async () => {
      await clients.closeAll();
      await t?.stop();
      await receiver?.close();
      await db?.drop();
    });

    it("links the StreamingPull delivery to the span the client sent in googclient_traceparent", async () => {
      const pubsub = clients.create({ enableOpenTelemetryTracing: true });
      const [topic] = await pubsub.createTopic("traced");
      const [subscription] = await topic.createSubscription("traced-sub");
      await topic.publishMessage({ data: Buffer.from("from a traced client") });

      let sent: string | undefined;
      await consume(subscription, (message, stop) => {
        sent = message.attributes.googclient_traceparent;
        message.ack();
        stop();
      });
      const [, traceId, spanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(sent ?? "") ?? [];
      expect(traceId, `googclient_traceparent ${sent}`).toBeDefined();
      // It is the client's own span: the publisher's trace.
      expect(clientSpans.getFinishedSpans().some((s) => s.spanContext().spanId === spanId)).toBe(true);

      await t.stop();
      const delivery = receiver.spans.find(
        (s) =>
          s.name.startsWith("deliver ") &&
          s.name.endsWith("traced-sub") &&
          s.attributes["herald.delivery.method"] === "stream",
      );
      expect(delivery?.parentSpanId).not.toBe("");
      expect(delivery?.links).toContainEqual({ traceId, spanId });
      const streamingPull = receiver.spans.find((s) => s.spanId === delivery?.parentSpanId);
      expect(streamingPull?.name).toBe("google.pubsub.v1.Subscriber/StreamingPull");
    });
  },
);
