import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import type { ReceivedMessage } from "../../gen/herald/v1/subscriber_service_pb.js";
import { claimCount } from "../support/claim-count.js";
import { expectCode } from "../support/expect-error.js";
import { createFixture, text, untext } from "../support/fixtures.js";
import { eventually, readStream, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "Subscribe streams on %s",
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

    const ack = (subscription: string, messages: ReceivedMessage[]) =>
      messages.length === 0
        ? Promise.resolve({ invalidAckIds: [] as string[] })
        : t.subscriber.acknowledge({ subscription, ackIds: messages.map((m) => m.ackId) });

    it("wakes an idle stream on a local publish instead of waiting for a poll", async () => {
      // Polling disabled in effect (10 min): only the in-process wakeup can deliver this message.
      const quiet = await startTestServer(db, { pollMinMs: 600_000, pollMaxMs: 600_000 });
      try {
        const f = await createFixture(quiet);
        const got: ReceivedMessage[] = [];
        const stream = readStream(
          (signal) => quiet.subscriber.subscribe({ subscription: f.subscription }, { signal }),
          (batch) => {
            got.push(...batch);
          },
        );
        // Publish only after the stream's first, empty claim: otherwise that claim would find the
        // message and the test would pass without any wakeup.
        await eventually(
          () => claimCount(quiet.server),
          (n) => n >= 1,
          10_000,
          "the stream's first claim",
        );
        const [id] = await f.publish([{ data: text("wake up") }]);
        await until(() => got.length === 1, 10_000, "the published message");
        expect(got[0]?.message?.messageId).toBe(id);
        await stream.stop();
      } finally {
        await quiet.stop();
      }
    });

    it("never holds more than max_outstanding_messages unacked, and resumes as acks free room", async () => {
      const f = await createFixture(t);
      const ids = await f.publish(Array.from({ length: 60 }, (_, i) => ({ data: text(`m${i}`) })));
      const unacked = new Map<string, ReceivedMessage>();
      let maxUnacked = 0;
      const received = new Set<string>();
      const stream = readStream(
        (signal) =>
          t.subscriber.subscribe({ subscription: f.subscription, maxOutstandingMessages: 5 }, { signal }),
        (batch) => {
          for (const m of batch) {
            unacked.set(m.ackId, m);
            received.add(m.message?.messageId ?? "");
          }
          maxUnacked = Math.max(maxUnacked, unacked.size);
        },
      );
      while (received.size < ids.length) {
        await until(() => unacked.size > 0, 10_000, "a delivery");
        // Ack slowly, two at a time, so the stream sits at its limit between acks.
        await new Promise((resolve) => setTimeout(resolve, 20));
        const some = [...unacked.values()].slice(0, 2);
        for (const m of some) unacked.delete(m.ackId);
        expect((await ack(f.subscription, some)).invalidAckIds).toEqual([]);
      }
      await ack(f.subscription, [...unacked.values()]);
      await stream.stop();
      expect(received.size).toBe(60);
      expect(maxUnacked).toBe(5);
    });

    it("shares 10,000 messages between two streams and a Pull loop, each acked exactly once", async () => {
      const f = await createFixture(t, { ackDeadlineSeconds: 120 });
      const ackedBy = new Map<string, string>();
      const outstandingOn = new Map<string, string>();
      let overlap = 0;
      let invalid = 0;
      const consume = (who: string, batch: ReceivedMessage[]) => {
        for (const m of batch) {
          const id = m.message?.messageId ?? "";
          if (outstandingOn.has(id)) overlap += 1;
          outstandingOn.set(id, who);
        }
      };
      const settle = async (who: string, batch: ReceivedMessage[]) => {
        const { invalidAckIds } = await ack(f.subscription, batch);
        invalid += invalidAckIds.length;
        for (const m of batch) {
          const id = m.message?.messageId ?? "";
          outstandingOn.delete(id);
          if (ackedBy.has(id)) overlap += 1;
          ackedBy.set(id, who);
        }
      };
      const streams = ["stream-a", "stream-b"].map((who) =>
        readStream(
          (signal) =>
            t.subscriber.subscribe({ subscription: f.subscription, maxOutstandingMessages: 200 }, { signal }),
          async (batch) => {
            consume(who, batch);
            await settle(who, batch);
          },
        ),
      );
      let pulling = true;
      const puller = (async () => {
        while (pulling) {
          const { receivedMessages } = await t.subscriber.pull({
            subscription: f.subscription,
            maxMessages: 100,
            maxWait: { seconds: 0n, nanos: 50_000_000 },
          });
          consume("pull", receivedMessages);
          await settle("pull", receivedMessages);
        }
      })();
      const published: string[] = [];
      for (let b = 0; b < 100; b++) {
        published.push(
          ...(await f.publish(Array.from({ length: 100 }, (_, i) => ({ data: text(`${b}-${i}`) })))),
        );
      }
      await until(() => ackedBy.size === 10_000, 60_000, "10,000 acks");
      pulling = false;
      await puller;
      await Promise.all(streams.map((s) => s.stop()));
      expect(new Set(published).size).toBe(10_000);
      expect([...ackedBy.keys()].sort()).toEqual([...published].sort());
      expect(overlap).toBe(0);
      expect(invalid).toBe(0);
      const consumers = new Set(ackedBy.values());
      expect(consumers.size).toBeGreaterThanOrEqual(2);
      expect((await t.admin.getSubscription({ name: f.subscription })).messageCount).toBe(10_000n);
    }, 90_000);

    it("keeps per-key order for 1,000 messages over 10 keys with random nacks", async () => {
      const f = await createFixture(t, {
        enableOrdering: true,
        maxDeliveryAttempts: 100,
        minBackoff: { seconds: 0n },
        maxBackoff: { seconds: 0n },
      });
      const keys = Array.from({ length: 10 }, (_, k) => `key-${k}`);
      const expected = new Map<string, string[]>(keys.map((k) => [k, []]));
      for (let b = 0; b < 10; b++) {
        const batch = Array.from({ length: 100 }, (_, i) => ({
          data: text(`${b}-${i}`),
          orderingKey: keys[(b * 100 + i) % 10],
        }));
        const ids = await f.publish(batch);
        for (const [i, id] of ids.entries()) expected.get(batch[i]?.orderingKey as string)?.push(id);
      }
      const acked = new Map<string, string[]>(keys.map((k) => [k, []]));
      let violations = 0;
      let nacks = 0;
      let total = 0;
      let seed = 42;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const stream = readStream(
        (signal) =>
          t.subscriber.subscribe({ subscription: f.subscription, maxOutstandingMessages: 100 }, { signal }),
        async (batch) => {
          const toAck: ReceivedMessage[] = [];
          const toNack: ReceivedMessage[] = [];
          for (const m of batch) {
            const key = m.message?.orderingKey ?? "";
            const done = acked.get(key) ?? [];
            // The next message of a key must be the first one not yet acked.
            if (m.message?.messageId !== expected.get(key)?.[done.length]) violations += 1;
            if (random() < 0.3) toNack.push(m);
            else toAck.push(m);
          }
          if (toNack.length > 0) {
            nacks += toNack.length;
            await t.subscriber.modifyAckDeadline({
              subscription: f.subscription,
              ackIds: toNack.map((m) => m.ackId),
              ackDeadlineSeconds: 0,
            });
          }
          await ack(f.subscription, toAck);
          for (const m of toAck) acked.get(m.message?.orderingKey ?? "")?.push(m.message?.messageId ?? "");
          total += toAck.length;
        },
      );
      await until(() => total === 1000, 60_000, "1,000 ordered acks");
      await stream.stop();
      expect(violations).toBe(0);
      expect(nacks).toBeGreaterThan(50);
      for (const key of keys) expect(acked.get(key)).toEqual(expected.get(key));
    }, 90_000);

    it("releases a cancelled stream's messages at once, counting the attempt", async () => {
      const f = await createFixture(t, { ackDeadlineSeconds: 600 });
      const ids = await f.publish([{ data: text("a") }, { data: text("b") }]);
      const got: ReceivedMessage[] = [];
      const first = readStream(
        (signal) => t.subscriber.subscribe({ subscription: f.subscription }, { signal }),
        (batch) => {
          got.push(...batch);
        },
      );
      await until(() => got.length === 2, 10_000, "two deliveries");
      await first.stop();
      let again: ReceivedMessage[] = [];
      const tick = async () => {
        again = [
          ...again,
          ...(await t.subscriber.pull({ subscription: f.subscription, maxMessages: 10 })).receivedMessages,
        ];
      };
      await tick();
      while (again.length < 2) await tick();
      expect(again.map((m) => m.message?.messageId).sort()).toEqual([...ids].sort());
      expect(again.map((m) => m.deliveryAttempt)).toEqual([2, 2]);
      expect(untext(again[0]?.message?.data)).toMatch(/^[ab]$/);
    });

    it("rejects bad stream options and PUSH subscriptions", async () => {
      const push = await createFixture(t, { deliveryType: DeliveryType.PUSH });
      const f = await createFixture(t);
      const firstError = async (req: Parameters<typeof t.subscriber.subscribe>[0]) => {
        const s = readStream(
          (signal) => t.subscriber.subscribe(req, { signal }),
          () => undefined,
        );
        return ConnectError.from(await s.done);
      };
      expect((await firstError({ subscription: push.subscription })).code).toBe(Code.FailedPrecondition);
      expect((await firstError({ subscription: "missing" })).code).toBe(Code.NotFound);
      expect((await firstError({ subscription: f.subscription, maxOutstandingMessages: -1 })).code).toBe(
        Code.InvalidArgument,
      );
      expect((await firstError({ subscription: f.subscription, ackDeadlineSeconds: 5 })).code).toBe(
        Code.InvalidArgument,
      );
      await expectCode(
        t.subscriber.pull({ subscription: f.subscription, maxMessages: 1, maxWait: { seconds: 31n } }),
        Code.InvalidArgument,
        "max_wait",
      );
    });
  },
);
