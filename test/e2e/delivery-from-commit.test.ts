import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReceivedMessage } from "../../gen/herald/v1/subscriber_service_pb.js";
import { claimCount } from "../support/claim-count.js";
import { createFixture, text, untext } from "../support/fixtures.js";
import { readStream, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

// A Subscribe stream waiting for work gets a local publish's messages leased in the publish's own
// transaction and handed over after its commit: no claim transaction stands between them.
describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "delivery from the publish's commit on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db);
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("hands single-message publishes to a waiting stream without a claim each, with working ack ids", async () => {
      // No backoff: a nack redelivers at once.
      const f = await createFixture(t, { minBackoff: { seconds: 0n }, maxBackoff: { seconds: 0n } });
      const received: ReceivedMessage[] = [];
      const stream = readStream(
        (signal) => t.subscriber.subscribe({ subscription: f.subscription }, { signal }),
        (batch) => {
          received.push(...batch);
        },
      );
      try {
        // The first message may come through a claim: the stream is then surely waiting.
        await f.publish([{ data: text("warm-up") }]);
        await until(() => received.length === 1, 10_000, "the warm-up delivery");
        const claimsBefore = await claimCount(t.server);
        const count = 20;
        for (let i = 0; i < count; i++) {
          await f.publish([{ data: text(`m${i}`) }]);
          await until(() => received.length === i + 2, 10_000, `delivery ${i + 1}`);
        }
        // Without hand-offs every publish woke the stream into a claim of its own.
        expect((await claimCount(t.server)) - claimsBefore).toBeLessThan(count / 2);
        expect(received.slice(1).map((m) => untext(m.message?.data))).toEqual(
          Array.from({ length: count }, (_, i) => `m${i}`),
        );
        expect(received.every((m) => m.deliveryAttempt === 1)).toBe(true);

        // The leases are real database leases: a nack redelivers (attempt 2), acks settle.
        const [nacked, ...rest] = received.splice(1);
        await t.subscriber.modifyAckDeadline({
          subscription: f.subscription,
          ackIds: [nacked?.ackId ?? ""],
          ackDeadlineSeconds: 0,
        });
        await until(() => received.length === 2, 10_000, "the redelivery");
        expect(received[1]?.message?.messageId).toBe(nacked?.message?.messageId);
        expect(received[1]?.deliveryAttempt).toBe(2);
        const acked = await t.subscriber.acknowledge({
          subscription: f.subscription,
          ackIds: [received[0], received[1], ...rest].map((m) => m?.ackId ?? ""),
        });
        expect(acked.invalidAckIds).toEqual([]);
        const { stats } = await t.admin.getSubscriptionStats({ name: f.subscription });
        expect([stats?.backlog, stats?.inFlight, stats?.sentLastHour]).toEqual([0n, 0n, BigInt(count + 1)]);
      } finally {
        await stream.stop();
      }
    }, 60_000);
  },
);
