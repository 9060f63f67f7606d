import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReceivedMessage } from "../../gen/herald/v1/subscriber_service_pb.js";
import { claimCount } from "../support/claim-count.js";
import { createFixture } from "../support/fixtures.js";
import { eventually, readStream, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** Claim transactions the server has run so far (its claim-duration histogram's count). */
/** Milliseconds one unary call takes end to end. */
async function roundTripMs(t: TestServer, subscription: string): Promise<number> {
  const started = performance.now();
  await t.admin.getSubscription({ name: subscription });
  return performance.now() - started;
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "stream flow control by bytes on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, { pollMinMs: 5, pollMaxMs: 50 });
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("waits for an ack when the byte budget left is smaller than the next message, never sending empty batches", async () => {
      const f = await createFixture(t);
      const count = 6;
      await f.publish(Array.from({ length: count }, (_, i) => ({ data: new Uint8Array(100).fill(i) })));
      const batches: ReceivedMessage[][] = [];
      const unacked: ReceivedMessage[] = [];
      const stream = readStream(
        (signal) =>
          t.subscriber.subscribe({ subscription: f.subscription, maxOutstandingBytes: 150n }, { signal }),
        (batch) => {
          batches.push(batch);
          unacked.push(...batch);
        },
      );
      try {
        let delivered = 0;
        while (delivered < count) {
          await until(() => unacked.length > 0, 10_000, `delivery ${delivered + 1}`);
          // One 100-byte message fills the 150-byte budget: the stream must now wait, not spin.
          expect(unacked).toHaveLength(1);
          const claimsBefore = await claimCount(t.server);
          // The server keeps answering other calls promptly while the stream waits.
          for (let i = 0; i < 5; i++) expect(await roundTripMs(t, f.subscription)).toBeLessThan(500);
          expect((await claimCount(t.server)) - claimsBefore).toBeLessThan(5);
          const [m] = unacked.splice(0);
          await t.subscriber.acknowledge({ subscription: f.subscription, ackIds: [m?.ackId ?? ""] });
          delivered += 1;
        }
        expect(batches.filter((b) => b.length === 0)).toHaveLength(0);
        expect(batches.flat()).toHaveLength(count);
      } finally {
        await stream.stop();
      }
    });

    it("lets idle streams cost nothing: twenty of them on one subscription make no claims while idle", async () => {
      const f = await createFixture(t);
      const got: ReceivedMessage[] = [];
      const initial = await claimCount(t.server);
      const streams = Array.from({ length: 20 }, () =>
        readStream(
          (signal) => t.subscriber.subscribe({ subscription: f.subscription }, { signal }),
          (batch) => {
            got.push(...batch);
          },
        ),
      );
      try {
        await until(() => t.server.openStreams() >= 20, 10_000, "twenty open streams");
        // Each stream makes its first, empty claim, then waits: measure from there.
        const before = await eventually(
          () => claimCount(t.server),
          (n) => n >= initial + 20,
          10_000,
          "every stream's first claim",
        );
        // A measuring window: with per-stream polling every 50 ms this was ~400 claims.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect((await claimCount(t.server)) - before).toBeLessThan(10);
        await f.publish([{ data: new Uint8Array(10) }]);
        await until(() => got.length === 1, 10_000, "the published message");
      } finally {
        for (const s of streams) await s.stop();
      }
    });

    it("wakes an ordered stream when a nacked message's backoff ends, not at its next poll", async () => {
      // Polling in effect disabled (10 min): only a wakeup at the retry time can redeliver in time.
      const quiet = await startTestServer(db, { pollMinMs: 600_000, pollMaxMs: 600_000 });
      try {
        const f = await createFixture(quiet, {
          enableOrdering: true,
          minBackoff: { seconds: 1n },
          maxBackoff: { seconds: 1n },
        });
        await f.publish([
          { data: new Uint8Array([1]), orderingKey: "k" },
          { data: new Uint8Array([2]), orderingKey: "k" },
        ]);
        const got: ReceivedMessage[] = [];
        const stream = readStream(
          (signal) => quiet.subscriber.subscribe({ subscription: f.subscription }, { signal }),
          (batch) => {
            got.push(...batch);
          },
        );
        try {
          await until(() => got.length === 1, 10_000, "the first message");
          const nackedAt = Date.now();
          await quiet.subscriber.modifyAckDeadline({
            subscription: f.subscription,
            ackIds: [got[0]?.ackId ?? ""],
            ackDeadlineSeconds: 0,
          });
          await until(() => got.length === 2, 10_000, "the redelivery after the backoff");
          expect(got[1]?.message?.data).toEqual(new Uint8Array([1]));
          expect(got[1]?.deliveryAttempt).toBe(2);
          expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(900);
          expect(Date.now() - nackedAt).toBeLessThan(4_000);
        } finally {
          await stream.stop();
        }
      } finally {
        await quiet.stop();
      }
    });

    it("bounds a Pull response by HERALD_MAX_RESPONSE_BYTES, letting one larger message travel alone", async () => {
      const limited = await startTestServer(db, {}, { env: { HERALD_MAX_RESPONSE_BYTES: "65536" } });
      try {
        const f = await createFixture(limited);
        // 5 × 20 KiB, then one of 100 KiB, then 3 × 20 KiB.
        const sizes = [20, 20, 20, 20, 20, 100, 20, 20, 20].map((k) => k * 1024);
        await f.publish(sizes.map((n) => ({ data: new Uint8Array(n) })));
        const pull = async () => {
          const res = await limited.subscriber.pull({ subscription: f.subscription, maxMessages: 1000 });
          await limited.subscriber.acknowledge({
            subscription: f.subscription,
            ackIds: res.receivedMessages.map((m) => m.ackId),
          });
          return res.receivedMessages.map((m) => m.message?.data.length ?? 0);
        };
        expect(await pull()).toEqual([20480, 20480, 20480]);
        expect(await pull()).toEqual([20480, 20480]);
        expect(await pull()).toEqual([102400]);
        expect(await pull()).toEqual([20480, 20480, 20480]);
      } finally {
        await limited.stop();
      }
    });
  },
);
