/**
 * HERALD_PUSH_TIMEOUT_MS is a deadline on the whole request: a receiver that answers at once and
 * then trickles its body a byte at a time cannot hold a push past it. Before the fix the timeout
 * bounded each wait for a chunk, a trickling receiver held a push for as long as it trickled, the
 * lease ran out and the same message was pushed again while the first push was still open.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { text } from "../support/fixtures.js";
import { eventually } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { type SinkReply, startWebhookSink } from "../support/webhook-sink.js";

const TIMEOUT_MS = 1_000;
/** Far longer than the deadline and the lease (timeout + 15 s): only the deadline can end it early. */
const TRICKLE = { everyMs: 100, forMs: 40_000 };

let counter = 0;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("push deadline on %s", (_k, target) => {
  let db: TestDatabase;
  let t: TestServer;
  const sinks: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    db = await target.create();
    t = await startTestServer(
      db,
      {},
      {
        env: {
          HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
          HERALD_WEBHOOK_ALLOW_HTTP: "true",
          HERALD_PUSH_TIMEOUT_MS: String(TIMEOUT_MS),
          HERALD_POLL_MIN_MS: "5",
          HERALD_POLL_MAX_MS: "50",
          HERALD_SWEEP_INTERVAL_MS: "100",
        },
      },
    );
  });
  afterAll(async () => {
    await t?.stop();
    for (const sink of sinks) await sink.close();
    await db?.drop();
  });

  /** A push subscription to a sink answering with `reply`, and one published message. */
  async function pushOne(reply: (index: number) => SinkReply) {
    const sink = await startWebhookSink((_p, i) => reply(i));
    sinks.push(sink);
    counter += 1;
    const tag = `d${counter}`;
    await t.admin.createPublisher({ code: `pub-${tag}`, name: tag });
    await t.admin.createTopic({ code: `deadline.${tag}`, name: tag });
    const { subscriber } = await t.admin.createSubscriber({ clientId: 1n, name: tag, webhookUrl: sink.url });
    await t.admin.createSubscription({
      name: `deadline-${tag}`,
      subscriberId: subscriber?.id ?? 0n,
      topic: `deadline.${tag}`,
      deliveryType: DeliveryType.PUSH,
      minBackoff: { seconds: 0n, nanos: 100_000_000 },
      maxBackoff: { seconds: 1n },
      maxDeliveryAttempts: 10,
    });
    await t.server.refreshPushers();
    const [id] = (
      await t.publisher.publish({
        publisher: `pub-${tag}`,
        topic: `deadline.${tag}`,
        messages: [{ data: text("x") }],
      })
    ).messageIds;
    const messageId = BigInt(id as string);
    const sent = () =>
      eventually(
        () => t.server.store.repos.queue.listByMessage(messageId),
        (rows) => rows[0]?.status === "sent",
        10_000,
        "the message recorded as sent",
      );
    return { sink, messageId, sent };
  }

  it("records a 200 whose body trickles, cutting the exchange at the deadline", async () => {
    const { sink, sent } = await pushOne(() => ({ status: 200, trickle: TRICKLE }));
    await sent();
    const [push] = sink.received;
    await eventually(
      async () => push?.closedAtMs,
      (closed) => closed !== undefined,
      5_000,
      "the trickling response cut",
    );
    expect(sink.received).toHaveLength(1);
    expect(push?.finished).toBe(false);
    expect((push?.closedAtMs ?? Infinity) - (push?.atMs ?? 0)).toBeLessThan(TRICKLE.forMs / 4);
  }, 30_000);

  it("fails a 500 whose body trickles at the deadline and retries only after the first push ended", async () => {
    const { sink, messageId, sent } = await pushOne((i) =>
      i === 0 ? { status: 500, trickle: TRICKLE } : { status: 204 },
    );
    await sent();
    const [first, second] = sink.received;
    expect(first?.finished).toBe(false);
    // Never two pushes of one message at once: the retry starts after the first exchange closed.
    expect(second?.atMs).toBeGreaterThanOrEqual(first?.closedAtMs ?? Infinity);
    const logs = await t.server.store.repos.notificationLogs.listByMessage(messageId);
    expect(logs.map((l) => [l.status, l.httpStatus])).toEqual([
      ["failed", 500],
      ["sent", 204],
    ]);
  }, 30_000);
});
