/**
 * OpenTelemetry tracing end to end: the real server exporting to a real OTLP/HTTP receiver (in
 * protobuf and in JSON) while a client publishes with a W3C traceparent and the message is
 * delivered by Pull, by a Subscribe stream and by a webhook push.
 */
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import type { ReceivedMessage } from "../../gen/herald/v1/subscriber_service_pb.js";
import { text } from "../support/fixtures.js";
import { type ReceivedSpan, startOtlpReceiver } from "../support/otlp-receiver.js";
import { readStream, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { LOOPBACK_WEBHOOK_ENV, startWebhookSink } from "../support/webhook-sink.js";

const SERVER_KIND = 2;
const CLIENT_KIND = 3;

const cases = testDatabaseTargets().flatMap((target) =>
  (["http/protobuf", "http/json"] as const).map((protocol) => [target.kind, protocol, target] as const),
);

describe.each(cases)("tracing on %s over OTLP %s", (_kind, protocol, target) => {
  let db: TestDatabase;
  let t: TestServer;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let sink: Awaited<ReturnType<typeof startWebhookSink>>;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    sink = await startWebhookSink();
    db = await target.create();
    // The default 5 s export delay: spans the test sees right after stop were flushed by the stop.
    const env = {
      ...LOOPBACK_WEBHOOK_ENV,
      // Often, to show that the sweeper makes no spans.
      HERALD_SWEEP_INTERVAL_MS: "50",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_SERVICE_NAME: "herald-under-test",
    };
    t = await startTestServer(db, {}, { env });
  });
  afterAll(async () => {
    await t?.stop();
    await sink?.close();
    await receiver?.close();
    await db?.drop();
  });

  it("puts the publish, its database work and every delivery in or linked to the publisher's trace", async () => {
    const tag = randomBytes(3).toString("hex");
    const topic = `traced.${tag}`;
    const publisher = `pub-${tag}`;
    await t.admin.createPublisher({ code: publisher, name: publisher });
    await t.admin.createTopic({ code: topic, name: topic });
    const { subscriber } = await t.admin.createSubscriber({ clientId: 7n, name: tag, webhookUrl: sink.url });
    const subscriberId = subscriber?.id ?? 0n;
    const [pullSub, streamSub, pushSub] = [`pull-${tag}`, `stream-${tag}`, `push-${tag}`];
    await t.admin.createSubscription({ name: pullSub, subscriberId, topic });
    await t.admin.createSubscription({ name: streamSub, subscriberId, topic });
    await t.admin.createSubscription({ name: pushSub, subscriberId, topic, deliveryType: DeliveryType.PUSH });
    await t.server.refreshPushers();

    // The publisher's own span, as an instrumented client would send it in the call's metadata.
    const traceId = randomBytes(16).toString("hex");
    const clientSpanId = randomBytes(8).toString("hex");
    await t.publisher.publish(
      { publisher, topic, messages: [{ data: text("followed") }] },
      { headers: { traceparent: `00-${traceId}-${clientSpanId}-01`, tracestate: "client=yes" } },
    );

    const pulled = await t.subscriber.pull({ subscription: pullSub, maxMessages: 10 });
    expect(pulled.receivedMessages).toHaveLength(1);
    await t.subscriber.acknowledge({
      subscription: pullSub,
      ackIds: pulled.receivedMessages.map((m) => m.ackId),
    });

    const streamed: ReceivedMessage[] = [];
    const stream = readStream(
      (signal) => t.subscriber.subscribe({ subscription: streamSub }, { signal }),
      (batch) => {
        streamed.push(...batch);
      },
    );
    await until(() => streamed.length === 1, 20_000, "the stream's delivery");
    await t.subscriber.acknowledge({ subscription: streamSub, ackIds: streamed.map((m) => m.ackId) });
    await stream.stop();

    await until(() => sink.received.length >= 1, 20_000, "the webhook push");
    const pushHeaders = sink.received[0]?.headers ?? {};
    const pushedParent = new RegExp(`^00-${traceId}-([0-9a-f]{16})-01$`).exec(
      String(pushHeaders.traceparent),
    );
    expect(pushedParent, `traceparent ${pushHeaders.traceparent}`).not.toBeNull();
    expect(pushHeaders.tracestate).toBe("client=yes");

    // A load balancer's health probe is not traced.
    await createClient(Health, createGrpcTransport({ baseUrl: t.server.url })).check({});

    await t.stop();
    const spans = receiver.spans;
    expect(spans.filter((s) => s.name.startsWith("grpc.health"))).toEqual([]);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => byId.get(s.parentSpanId);

    const publish = spans.find(
      (s) => s.name === "herald.v1.PublisherService/Publish" && s.traceId === traceId,
    );
    expect(publish, "the Publish server span, in the publisher's trace").toBeDefined();
    if (!publish) return;
    expect(publish).toMatchObject({
      kind: SERVER_KIND,
      parentSpanId: clientSpanId,
      serviceName: "herald-under-test",
    });
    expect(publish.attributes["rpc.grpc.status_code"]).toBe(0);

    // Database time under the publish: the group commit's transaction and the insert inside it.
    const transaction = spans.find((s) => s.name === "db transaction" && s.parentSpanId === publish.spanId);
    expect(transaction, "the publish transaction's span").toBeDefined();
    const insert = spans.find((s) => s.name === "db messages.insertMany");
    expect(insert?.parentSpanId).toBe(transaction?.spanId);
    // Background loops (the sweeper runs every 50 ms here) make no database spans of their own.
    expect(spans.filter((s) => s.name.startsWith("db ") && s.parentSpanId === "")).toEqual([]);

    const linksToPublish = (s: ReceivedSpan) =>
      s.links.some((l) => l.traceId === traceId && l.spanId === publish.spanId);
    const delivery = (method: string, subscription: string) =>
      spans.find(
        (s) =>
          s.name === `deliver ${subscription}` &&
          s.attributes["herald.delivery.method"] === method &&
          s.attributes["messaging.batch.message_count"] === 1,
      );

    const pull = delivery("pull", pullSub);
    expect(pull, "the Pull delivery span").toBeDefined();
    expect(pull && linksToPublish(pull)).toBe(true);
    expect(pull && parentOf(pull)?.name).toBe("herald.v1.SubscriberService/Pull");

    const streamBatch = delivery("stream", streamSub);
    expect(streamBatch, "the stream batch's delivery span").toBeDefined();
    expect(streamBatch && linksToPublish(streamBatch)).toBe(true);
    expect(streamBatch && parentOf(streamBatch)?.name).toBe("herald.v1.SubscriberService/Subscribe");

    // The push continues the publisher's trace, and the receiver got this span as its parent.
    const push = spans.find(
      (s) => s.name === `deliver ${pushSub}` && s.attributes["herald.delivery.method"] === "push",
    );
    expect(push).toMatchObject({
      traceId,
      parentSpanId: publish.spanId,
      kind: CLIENT_KIND,
      spanId: pushedParent?.[1],
    });
    expect(push?.attributes["http.response.status_code"]).toBe(204);
    expect(push && linksToPublish(push)).toBe(true);

    const expectedType = protocol === "http/json" ? "application/json" : "application/x-protobuf";
    expect(receiver.contentTypes.length).toBeGreaterThan(0);
    for (const type of receiver.contentTypes) expect(type).toContain(expectedType);
  });
});
