/**
 * The lease fence of push settlement on every test database: when an outcome of an expired (stale)
 * delivery and the outcome of the current delivery of the same row settle in one batch, only the
 * current one counts, whatever their order. Before the fix outcomes were matched by row alone, so a
 * stale 500 dead-lettered a message its receiver had acknowledged, and a stale 410 paused the
 * subscription.
 */
import { describe, expect, it } from "vitest";
import { DeliveryService } from "../../src/app/consume/delivery-service.js";
import { QueueSweep } from "../../src/app/consume/queue-sweep.js";
import { type PushOutcome, PushSettlement } from "../../src/app/push/push-settlement.js";
import { FakeClock } from "../../src/domain/clock.js";
import type { PushVerdict } from "../../src/domain/push-outcome.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  messageToStore,
  NOW_MS,
  useConformanceStore,
} from "./conformance-setup.js";

const LEASE_MS = 1_000;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "push settlement fence on %s",
  (_kind, target) => {
    const store = useConformanceStore(target);

    /**
     * A push subscription whose single message was delivered twice: the first lease expired (the
     * sweeper counted a failed attempt) and the second delivery, its last allowed attempt, is current.
     */
    async function redelivered() {
      const s = store();
      const clock = new FakeClock(NOW_MS);
      const topic = await createTopic(s);
      const publisher = await createPublisher(s);
      const subscriber = await createSubscriber(s);
      const sub = await createSubscription(s, {
        topicId: topic.id,
        subscriberId: subscriber.id,
        maxDeliveryAttempts: 2,
        minBackoffMs: 0,
        maxBackoffMs: 0,
      });
      const [messageId] = await s.repos.messages.insertMany([messageToStore(topic.id, publisher.id)]);
      await s.repos.queue.fanOut([messageId as bigint], NOW_MS);
      const deliveries = new DeliveryService(s, clock, () => 0);
      const claim = () => deliveries.claim(sub, { owner: "t", method: "webhook", max: 1, leaseMs: LEASE_MS });
      const [stale] = await claim();
      clock.advanceMs(LEASE_MS + 1);
      await new QueueSweep(s, clock).run();
      clock.advanceMs(1);
      const [current] = await claim();
      if (!stale || !current) throw new Error("expected two deliveries");
      expect(current.ref.queueId).toBe(stale.ref.queueId);
      expect(current.ref.leaseToken).not.toBe(stale.ref.leaseToken);
      const settlement = new PushSettlement(s, clock, 86_400_000, () => 0);
      const outcome = (delivery: typeof stale, verdict: PushVerdict, httpStatus: number): PushOutcome => ({
        ref: delivery.ref,
        verdict,
        httpStatus,
        detail: httpStatus === 204 ? "" : `HTTP ${httpStatus}`,
        durationMs: 1,
      });
      const state = async () => {
        const [row] = await s.repos.queue.listByMessage(messageId as bigint);
        return {
          status: row?.status,
          deadLetters: (await s.repos.deadLetters.listBySubscription(sub.id)).length,
          paused: (await s.repos.subscriptions.findById(sub.id))?.pausedAtMs !== null,
        };
      };
      return { sub, stale, current, settlement, outcome, state };
    }

    for (const order of ["stale first", "current first"] as const) {
      it(`records the current 200 and ignores a stale 500 settled in the same batch (${order})`, async () => {
        const { sub, stale, current, settlement, outcome, state } = await redelivered();
        const staleFailure = outcome(stale, { kind: "retry", retryAfterMs: null }, 500);
        const currentAck = outcome(current, { kind: "ack" }, 204);
        const batch = order === "stale first" ? [staleFailure, currentAck] : [currentAck, staleFailure];
        expect(await settlement.settle(sub, batch)).toBeNull();
        expect(await state()).toEqual({ status: "sent", deadLetters: 0, paused: false });
      });

      it(`ignores a stale 410 settled with the current 200: no pause, no dead letter (${order})`, async () => {
        const { sub, stale, current, settlement, outcome, state } = await redelivered();
        const staleGone = outcome(stale, { kind: "gone" }, 410);
        const currentAck = outcome(current, { kind: "ack" }, 204);
        const batch = order === "stale first" ? [staleGone, currentAck] : [currentAck, staleGone];
        expect(await settlement.settle(sub, batch)).toBeNull();
        expect(await state()).toEqual({ status: "sent", deadLetters: 0, paused: false });
      });
    }

    it("applies the current failure and ignores a stale 200 of the same row", async () => {
      const { sub, stale, current, settlement, outcome, state } = await redelivered();
      const staleAck = outcome(stale, { kind: "ack" }, 204);
      const currentFailure = outcome(current, { kind: "retry", retryAfterMs: null }, 500);
      await settlement.settle(sub, [staleAck, currentFailure]);
      expect(await state()).toEqual({ status: "dead_lettered", deadLetters: 1, paused: false });
    });

    it("gives back a delivery that was not pushed without counting an attempt", async () => {
      const { sub, current, settlement, outcome } = await redelivered();
      const givenBack = {
        ...outcome(current, { kind: "retry", retryAfterMs: null }, 0),
        givenBack: true as const,
      };
      await settlement.settle(sub, [{ ...givenBack, httpStatus: null }]);
      const [row] = await store().repos.queue.listByMessage(current.message.id);
      expect(row).toMatchObject({ status: "failed", attemptCount: 1 });
      expect(await store().repos.deadLetters.listBySubscription(sub.id)).toEqual([]);
    });

    it("fences storage writes by lease token and reports which rows won", async () => {
      const { stale, current } = await redelivered();
      const deliveries = store().repos.deliveries;
      const staleRef = stale.ref;
      const currentRef = current.ref;
      const attempt = {
        lease: staleRef,
        attemptCount: 2,
        lastError: "x",
        nextRetryAtMs: NOW_MS,
        firstAttemptAtMs: NOW_MS,
        lastAttemptAtMs: NOW_MS,
      };
      expect(await deliveries.markFailedIfLeased([attempt], NOW_MS)).toEqual([]);
      expect(await deliveries.markDeadLetteredIfLeased([attempt], NOW_MS)).toEqual([]);
      expect(await deliveries.extendLeasesIfLeased([staleRef], NOW_MS + 60_000, NOW_MS)).toEqual([]);
      expect(await deliveries.releaseIfLeased([staleRef], NOW_MS)).toEqual([]);
      expect(await deliveries.markSentIfLeased([staleRef], NOW_MS + 5)).toEqual([]);
      // A batch where one lease lost and one won reports the winner only.
      expect(await deliveries.markSentIfLeased([currentRef, staleRef], NOW_MS + 6)).toEqual([
        current.ref.queueId,
      ]);
      // Already sent: a second ack under the same token changes nothing.
      expect(await deliveries.markSentIfLeased([currentRef], NOW_MS + 7)).toEqual([]);
    });
  },
);
