/**
 * Push under a partly failing receiver: a fifth of the requests answer 500 and one in twenty hangs
 * for 2 s before answering. The failures must not starve the healthy requests: every message is
 * delivered and the receiver keeps seeing many requests at once. Before the fix each failure halved
 * the concurrency window, so it sat at one or two requests and push crawled (~27 requests/s).
 * Asserted on what the receiver observes (requests open at each arrival), not on wall-clock rates.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { text } from "../support/fixtures.js";
import { until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { type ReceivedPush, type SinkReply, startWebhookSink } from "../support/webhook-sink.js";

const MESSAGES = 1_000;

/** Deterministic by arrival: every fifth request fails, one in twenty hangs 2 s, the rest succeed. */
function partlyFailing(_push: ReceivedPush, index: number): SinkReply {
  if (index % 5 === 0) return { status: 500 };
  if (index % 20 === 1) return { status: 204, delayMs: 2_000 };
  return { status: 204 };
}

/** For each request, how many requests (itself included) were open at the receiver when it arrived. */
function openAtArrival(received: readonly ReceivedPush[]): number[] {
  return received.map(
    (push) => received.filter((p) => p.atMs <= push.atMs && (p.closedAtMs ?? Infinity) > push.atMs).length,
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "push to a partly failing receiver on %s",
  (kind, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let sink: Awaited<ReturnType<typeof startWebhookSink>> | undefined;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(
        db,
        {},
        {
          env: {
            HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
            HERALD_WEBHOOK_ALLOW_HTTP: "true",
            HERALD_PUSH_TIMEOUT_MS: "10000",
            HERALD_PUSH_WINDOW_MAX: "64",
            HERALD_POLL_MIN_MS: "5",
            HERALD_POLL_MAX_MS: "50",
            HERALD_SWEEP_INTERVAL_MS: "200",
          },
        },
      );
    });
    afterAll(async () => {
      await t?.stop();
      await sink?.close();
      await db?.drop();
    });

    it("delivers every message and keeps many requests in flight despite the failures", async () => {
      sink = await startWebhookSink(partlyFailing);
      const received = sink.received;
      const tag = `partial-${kind}`;
      await t.admin.createPublisher({ code: tag, name: tag });
      await t.admin.createTopic({ code: tag, name: tag });
      const { subscriber } = await t.admin.createSubscriber({
        clientId: 1n,
        name: tag,
        webhookUrl: sink.url,
      });
      await t.admin.createSubscription({
        name: tag,
        subscriberId: subscriber?.id ?? 0n,
        topic: tag,
        deliveryType: DeliveryType.PUSH,
        minBackoff: { seconds: 0n, nanos: 100_000_000 },
        maxBackoff: { seconds: 1n },
        maxDeliveryAttempts: 100,
      });
      await t.server.refreshPushers();
      for (let b = 0; b < MESSAGES / 100; b++) {
        await t.publisher.publish({
          publisher: tag,
          topic: tag,
          messages: Array.from({ length: 100 }, (_, i) => ({ data: text(`${b}-${i}`) })),
        });
      }
      const delivered = new Set<string>();
      let counted = 0;
      await until(
        () => {
          for (; counted < received.length; counted++) {
            const p = received[counted];
            if (p && p.status === 204) delivered.add(p.json.message.messageId);
          }
          return delivered.size >= MESSAGES;
        },
        120_000,
        `${MESSAGES} messages acknowledged by the receiver`,
      );
      // The receiver saw many requests at once for most of the run: the window stayed open.
      // Measured: 26–27 with the fix, 4–10 before it (a halving per failure).
      expect(median(openAtArrival(received))).toBeGreaterThanOrEqual(16);
    }, 150_000);
  },
);
