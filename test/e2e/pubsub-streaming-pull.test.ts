import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Publisher, type StreamingPullResponse, Subscriber } from "../../gen/google/pubsub/v1/pubsub_pb.js";
import { requestChannel } from "../support/streaming-pull-requests.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const P = "projects/stream";

/** Reads responses into `received` in the background; `done` settles when the stream ends. */
function readResponses(responses: AsyncIterable<StreamingPullResponse>) {
  const received: StreamingPullResponse[] = [];
  const done = (async () => {
    for await (const r of responses) received.push(r);
  })();
  return { received, done };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** StreamingPull driven frame by frame: acks, nacks and deadline changes on the stream itself. */
describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("StreamingPull on %s", (_k, target) => {
  let db: TestDatabase;
  let t: TestServer;
  let publisher: ReturnType<typeof createClient<typeof Publisher>>;
  let subscriber: ReturnType<typeof createClient<typeof Subscriber>>;

  beforeAll(async () => {
    db = await target.create();
    t = await startTestServer(db);
    const transport = createGrpcTransport({ baseUrl: t.server.url });
    publisher = createClient(Publisher, transport);
    subscriber = createClient(Subscriber, transport);
  });
  afterAll(async () => {
    await t?.stop();
    await db?.drop();
  });

  const publish = (topic: string, n: number) =>
    publisher.publish({
      topic: `${P}/topics/${topic}`,
      messages: Array.from({ length: n }, (_, i) => ({ data: new TextEncoder().encode(`m${i}`) })),
    });

  it("honours flow control from the first request, takes acks and nacks on the stream, ends on half-close", async () => {
    await publisher.createTopic({ name: `${P}/topics/flow` });
    await subscriber.createSubscription({ name: `${P}/subscriptions/flow-sub`, topic: `${P}/topics/flow` });
    const published = await publish("flow", 10);
    const requests = requestChannel();
    requests.send({
      subscription: `${P}/subscriptions/flow-sub`,
      streamAckDeadlineSeconds: 30,
      maxOutstandingMessages: 4n,
    });
    const stream = readResponses(subscriber.streamingPull(requests));
    const ids = () => stream.received.flatMap((r) => r.receivedMessages);
    await waitFor(() => ids().length === 4, "the first 4 messages");
    expect(stream.received[0]?.subscriptionProperties).toMatchObject({
      messageOrderingEnabled: false,
      exactlyOnceDeliveryEnabled: false,
    });
    // Flow control: nothing more until something is acked.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(ids()).toHaveLength(4);

    const [first, second, third, fourth] = ids();
    // Ack two, nack one (deadline 0), extend one: the nacked message comes again.
    requests.send({
      ackIds: [first?.ackId ?? "", second?.ackId ?? ""],
      modifyDeadlineAckIds: [third?.ackId ?? "", fourth?.ackId ?? ""],
      modifyDeadlineSeconds: [0, 120],
    });
    // Ack everything else as it arrives until all 10 are acked once; the nacked one comes again.
    const acked = new Set([first?.message?.messageId, second?.message?.messageId]);
    let seen = 4;
    await waitFor(() => {
      const fresh = ids().slice(seen);
      seen += fresh.length;
      if (fresh.length > 0) {
        requests.send({ ackIds: fresh.map((r) => r.ackId) });
        for (const r of fresh) acked.add(r.message?.messageId);
      }
      if (acked.size === 9 && !acked.has(fourth?.message?.messageId)) {
        requests.send({ ackIds: [fourth?.ackId ?? ""] });
        acked.add(fourth?.message?.messageId);
      }
      return acked.size === 10;
    }, "all 10 acked");
    const thirdDeliveries = ids().filter((r) => r.message?.messageId === third?.message?.messageId);
    expect(thirdDeliveries).toHaveLength(2);
    expect(ids()).toHaveLength(11);
    expect([...acked].sort()).toEqual([...published.messageIds].sort());

    requests.end();
    await stream.done; // half-close ends the stream with OK
    const stats = (await t.admin.getSubscriptionStats({ name: "flow-sub" })).stats;
    expect(stats?.backlog).toBe(0n);
    expect(stats?.inFlight).toBe(0n);
  });

  it("rejects a bad first request and mismatched deadline lists with INVALID_ARGUMENT", async () => {
    await publisher.createTopic({ name: `${P}/topics/bad` });
    await subscriber.createSubscription({ name: `${P}/subscriptions/bad-sub`, topic: `${P}/topics/bad` });
    const attempt = async (...frames: Parameters<ReturnType<typeof requestChannel>["send"]>[0][]) => {
      const requests = requestChannel();
      for (const f of frames) requests.send(f);
      const stream = readResponses(subscriber.streamingPull(requests));
      const error = await stream.done.then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      requests.end();
      return error;
    };
    const open = { subscription: `${P}/subscriptions/bad-sub`, streamAckDeadlineSeconds: 10 };
    expect((await attempt({ streamAckDeadlineSeconds: 10 }))?.code).toBe(Code.InvalidArgument);
    expect((await attempt({ ...open, streamAckDeadlineSeconds: 5 }))?.code).toBe(Code.InvalidArgument);
    expect((await attempt({ ...open, subscription: "nope" }))?.code).toBe(Code.InvalidArgument);
    expect((await attempt({ ...open, subscription: `${P}/subscriptions/missing` }))?.code).toBe(
      Code.NotFound,
    );
    expect(
      (await attempt(open, { modifyDeadlineAckIds: ["a", "b"], modifyDeadlineSeconds: [10] }))?.code,
    ).toBe(Code.InvalidArgument);
  });
});
