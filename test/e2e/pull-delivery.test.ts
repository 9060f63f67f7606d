import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { FakeClock } from "../../src/domain/clock.js";
import { expectCode } from "../support/expect-error.js";
import { createFixture, text, untext } from "../support/fixtures.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "Pull, acks and leases on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    // Leases, backoff and TTLs follow this clock; the test moves it instead of sleeping.
    const clock = new FakeClock(Date.now());

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, { sweepIntervalMs: 60_000 }, { clock });
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    const pull = (subscription: string, maxMessages = 10) => t.subscriber.pull({ subscription, maxMessages });
    const logsOf = (messageId: string) =>
      t.server.store.repos.notificationLogs.listByMessage(BigInt(messageId));

    it("delivers, acks, and reports stale, forged and repeated acks correctly", async () => {
      const f = await createFixture(t, { minBackoff: { seconds: 1n }, maxBackoff: { seconds: 1n } });
      const [id] = await f.publish([
        { data: text("hello"), attributes: { a: "1" }, identifier: "user-1", orderingKey: "" },
      ]);
      const first = await pull(f.subscription);
      expect(first.receivedMessages).toHaveLength(1);
      const received = first.receivedMessages[0];
      expect(received?.deliveryAttempt).toBe(1);
      expect(received?.message).toMatchObject({
        messageId: id,
        identifier: "user-1",
        topic: f.topic,
        attributes: { a: "1" },
      });
      expect(untext(received?.message?.data)).toBe("hello");
      // Leased: nobody else gets it.
      expect((await pull(f.subscription)).receivedMessages).toHaveLength(0);

      const ack = await t.subscriber.acknowledge({
        subscription: f.subscription,
        ackIds: [received?.ackId ?? ""],
      });
      expect(ack.invalidAckIds).toEqual([]);
      const again = await t.subscriber.acknowledge({
        subscription: f.subscription,
        ackIds: [received?.ackId ?? ""],
      });
      expect(again.invalidAckIds).toEqual([]);
      const forged = await t.subscriber.acknowledge({
        subscription: f.subscription,
        ackIds: ["forged", "A".repeat(22)],
      });
      expect(forged.invalidAckIds).toEqual(["forged", "A".repeat(22)]);
      expect((await pull(f.subscription)).receivedMessages).toHaveLength(0);
      const logs = await logsOf(id as string);
      expect(logs.map((l) => [l.deliveryMethod, l.status])).toEqual([["pull", "sent"]]);
      expect((await t.admin.getSubscription({ name: f.subscription })).messageCount).toBe(1n);
    });

    it("redelivers after the ack deadline with delivery_attempt 2, and fences the stale ack id", async () => {
      const f = await createFixture(t, {
        ackDeadlineSeconds: 10,
        minBackoff: { seconds: 2n },
        maxBackoff: { seconds: 2n },
      });
      const [id] = await f.publish([{ data: text("x") }]);
      const first = (await pull(f.subscription)).receivedMessages[0];
      clock.advanceMs(10_001);
      await t.server.sweepNow();
      // Failed, waiting for its 2 s backoff (±20 % jitter).
      expect((await pull(f.subscription)).receivedMessages).toHaveLength(0);
      clock.advanceMs(2_500);
      const second = (await pull(f.subscription)).receivedMessages[0];
      expect(second?.deliveryAttempt).toBe(2);
      expect(second?.message?.messageId).toBe(id);
      const stale = await t.subscriber.acknowledge({
        subscription: f.subscription,
        ackIds: [first?.ackId ?? ""],
      });
      expect(stale.invalidAckIds).toEqual([first?.ackId]);
      const fresh = await t.subscriber.acknowledge({
        subscription: f.subscription,
        ackIds: [second?.ackId ?? ""],
      });
      expect(fresh.invalidAckIds).toEqual([]);
      const logs = await logsOf(id as string);
      expect(logs.map((l) => [l.status, l.error])).toEqual([
        ["failed", "ack deadline exceeded"],
        ["sent", null],
      ]);
    });

    it("extends leases with ModifyAckDeadline and treats 0 as a nack retried after the backoff", async () => {
      const f = await createFixture(t, {
        ackDeadlineSeconds: 10,
        minBackoff: { seconds: 5n },
        maxBackoff: { seconds: 5n },
      });
      await f.publish([{ data: text("x") }]);
      const first = (await pull(f.subscription)).receivedMessages[0];
      const extend = await t.subscriber.modifyAckDeadline({
        subscription: f.subscription,
        ackIds: [first?.ackId ?? ""],
        ackDeadlineSeconds: 60,
      });
      expect(extend.invalidAckIds).toEqual([]);
      clock.advanceMs(30_000);
      await t.server.sweepNow();
      expect((await pull(f.subscription)).receivedMessages).toHaveLength(0);
      await t.subscriber.modifyAckDeadline({
        subscription: f.subscription,
        ackIds: [first?.ackId ?? ""],
        ackDeadlineSeconds: 0,
      });
      expect((await pull(f.subscription)).receivedMessages).toHaveLength(0);
      clock.advanceMs(6_100);
      const second = (await pull(f.subscription)).receivedMessages[0];
      expect(second?.deliveryAttempt).toBe(2);
      await expectCode(
        t.subscriber.modifyAckDeadline({
          subscription: f.subscription,
          ackIds: [second?.ackId ?? ""],
          ackDeadlineSeconds: 601,
        }),
        Code.InvalidArgument,
        "ack_deadline_seconds",
      );
    });

    it("dead-letters after max_delivery_attempts with the right fields and never delivers again", async () => {
      const f = await createFixture(t, {
        maxDeliveryAttempts: 3,
        minBackoff: { seconds: 0n },
        maxBackoff: { seconds: 0n },
      });
      const [id] = await f.publish([{ data: text("poison"), identifier: "p-1" }]);
      for (let attempt = 1; attempt <= 3; attempt++) {
        const received = (await pull(f.subscription)).receivedMessages[0];
        expect(received?.deliveryAttempt).toBe(attempt);
        await t.subscriber.modifyAckDeadline({
          subscription: f.subscription,
          ackIds: [received?.ackId ?? ""],
          ackDeadlineSeconds: 0,
        });
      }
      expect((await pull(f.subscription)).receivedMessages).toHaveLength(0);
      const sub = await t.server.store.repos.subscriptions.findByName(f.subscription);
      const dead = await t.server.store.repos.deadLetters.listBySubscription(sub?.id ?? 0n);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({
        messageId: BigInt(id as string),
        attemptCount: 3,
        failureReason: "MAX_ATTEMPTS",
        lastError: "nack",
        isResolved: false,
        callbackUrl: null,
      });
      expect(untext(dead[0]?.messageData)).toBe("poison");
      expect(dead[0]?.firstAttemptAtMs).not.toBeNull();
      const logs = await logsOf(id as string);
      expect(logs.map((l) => l.status)).toEqual(["failed", "failed", "failed"]);
    });

    it("dead-letters an item past its TTL with reason EXPIRED", async () => {
      const f = await createFixture(t, { messageTtl: { seconds: 10n } });
      const [id] = await f.publish([{ data: text("late") }]);
      clock.advanceMs(10_001);
      expect((await pull(f.subscription)).receivedMessages).toHaveLength(0);
      await t.server.sweepNow();
      const sub = await t.server.store.repos.subscriptions.findByName(f.subscription);
      const dead = await t.server.store.repos.deadLetters.listBySubscription(sub?.id ?? 0n);
      expect(dead.map((d) => [d.messageId, d.failureReason, d.attemptCount])).toEqual([
        [BigInt(id as string), "EXPIRED", 0],
      ]);
      const logs = await logsOf(id as string);
      expect(logs.map((l) => [l.status, l.skippedReason])).toEqual([["skipped", "expired"]]);
    });

    it("refuses PUSH, unknown and deleted subscriptions, and an ack id of another subscription", async () => {
      const push = await createFixture(t, { deliveryType: DeliveryType.PUSH });
      await expectCode(pull(push.subscription), Code.FailedPrecondition);
      await expectCode(pull("no-such-subscription"), Code.NotFound);
      const f = await createFixture(t);
      const other = await createFixture(t);
      await f.publish([{ data: text("mine") }]);
      const mine = (await pull(f.subscription)).receivedMessages[0];
      const cross = await t.subscriber.acknowledge({
        subscription: other.subscription,
        ackIds: [mine?.ackId ?? ""],
      });
      expect(cross.invalidAckIds).toEqual([mine?.ackId]);
      await t.admin.deleteSubscription({ name: f.subscription });
      clock.advanceMs(1_100); // the consumer-side subscription cache lives 1 s
      await expectCode(pull(f.subscription), Code.NotFound);
      await expectCode(pull(other.subscription, 0), Code.InvalidArgument, "max_messages");
      await expectCode(
        t.subscriber.acknowledge({ subscription: other.subscription, ackIds: [] }),
        Code.InvalidArgument,
        "ack_ids",
      );
    });
  },
);
