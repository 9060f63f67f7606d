/** The push-settlement use case (PushSettlement) over in-memory SQLite, driven by a fake clock. */
import { describe, expect, it } from "vitest";
import type { Delivery } from "../../src/app/consume/delivery-service.js";
import { QueueSweep } from "../../src/app/consume/queue-sweep.js";
import { type PushOutcome, PushSettlement } from "../../src/app/push/push-settlement.js";
import type { OperationalEvent } from "../../src/domain/operational-event.js";
import type { PushVerdict } from "../../src/domain/push-outcome.js";
import type { Subscription } from "../../src/domain/subscription.js";
import {
  outgoing,
  publish,
  pullClaim,
  queueRow,
  subscribe,
  type UseCaseWorld,
  useWorld,
} from "./use-case-world.js";

const HOUR_MS = 3_600_000;
const backoff = { minBackoffMs: 10_000, maxBackoffMs: 600_000 };

function settlement(w: UseCaseWorld, pauseAfterFailingMs = HOUR_MS): PushSettlement {
  return new PushSettlement(w.store, w.clock, pauseAfterFailingMs, () => 0.5);
}

function outcome(delivery: Delivery | undefined, verdict: PushVerdict, httpStatus: number): PushOutcome {
  if (!delivery) throw new Error("nothing was claimed");
  return {
    ref: delivery.ref,
    verdict,
    httpStatus,
    detail: httpStatus === 200 ? "" : "error",
    durationMs: 12,
  };
}

/** A push subscription with one published message, claimed as the pusher claims it. */
async function pushed(
  w: UseCaseWorld,
): Promise<{ subscription: Subscription; messageId: bigint; delivery: Delivery }> {
  const subscription = await subscribe(w, { ...backoff, deliveryType: "push", pushEndpoint: "" });
  const [messageId] = await publish(w, outgoing("event"));
  const [delivery] = await w.delivery.claim(subscription, pullClaim({ method: "webhook" }));
  if (!delivery || messageId === undefined) throw new Error("nothing was claimed");
  return { subscription, messageId, delivery };
}

describe("push settlement use case", () => {
  const world = useWorld();

  it("marks a delivery answered 2xx as sent and logs the status", async () => {
    const w = world();
    const { subscription, messageId, delivery } = await pushed(w);

    const paused = await settlement(w).settle(subscription, [outcome(delivery, { kind: "ack" }, 200)]);

    expect(paused).toBeNull();
    expect((await queueRow(w, subscription, messageId)).status).toBe("sent");
    const logs = await w.store.repos.notificationLogs.listByMessage(messageId);
    expect(logs.map((l) => ({ status: l.status, httpStatus: l.httpStatus }))).toEqual([
      { status: "sent", httpStatus: 200 },
    ]);
  });

  it("schedules a delivery answered 5xx for a retry after the backoff", async () => {
    const w = world();
    const { subscription, messageId, delivery } = await pushed(w);
    const failedAtMs = w.clock.nowMs();

    await settlement(w).settle(subscription, [outcome(delivery, { kind: "retry", retryAfterMs: null }, 500)]);

    const row = await queueRow(w, subscription, messageId);
    expect({ status: row.status, attemptCount: row.attemptCount }).toEqual({
      status: "failed",
      attemptCount: 1,
    });
    // random fixed at 0.5: no jitter, the first retry waits exactly the minimum backoff.
    expect(await w.delivery.nextClaimableAtMs(subscription)).toBe(failedAtMs + backoff.minBackoffMs);
  });

  it("retries a delivery answered 503 with Retry-After at the time the receiver named", async () => {
    const w = world();
    const { subscription, delivery } = await pushed(w);
    const failedAtMs = w.clock.nowMs();

    await settlement(w).settle(subscription, [
      outcome(delivery, { kind: "retry", retryAfterMs: 42_000 }, 503),
    ]);

    expect(await w.delivery.nextClaimableAtMs(subscription)).toBe(failedAtMs + 42_000);
  });

  it("dead-letters a delivery answered 410 Gone at once with reason GONE", async () => {
    const w = world();
    const { subscription, messageId, delivery } = await pushed(w);

    await settlement(w).settle(subscription, [outcome(delivery, { kind: "gone" }, 410)]);

    expect((await queueRow(w, subscription, messageId)).status).toBe("dead_lettered");
    const deadLetters = await w.store.repos.deadLetters.listBySubscription(subscription.id);
    expect(
      deadLetters.map((d) => ({
        reason: d.failureReason,
        status: d.lastHttpStatus,
        attempts: d.attemptCount,
      })),
    ).toEqual([{ reason: "GONE", status: 410, attempts: 1 }]);
  });

  it("pauses the subscription when its endpoint answers 410 Gone", async () => {
    const w = world();
    const { subscription, delivery } = await pushed(w);

    const paused = await settlement(w).settle(subscription, [outcome(delivery, { kind: "gone" }, 410)]);

    expect(paused).toBe("the endpoint answered 410 Gone");
    expect((await w.store.repos.subscriptions.findById(subscription.id))?.pausedAtMs).toBe(w.clock.nowMs());
  });

  it("pauses the subscription once every push failed for the configured time", async () => {
    const w = world();
    const { subscription, delivery } = await pushed(w);
    const settle = settlement(w, HOUR_MS);
    expect(
      await settle.settle(subscription, [outcome(delivery, { kind: "retry", retryAfterMs: null }, 500)]),
    ).toBeNull();

    w.clock.advanceMs(HOUR_MS);
    const [retry] = await w.delivery.claim(subscription, pullClaim({ method: "webhook" }));
    const paused = await settle.settle(subscription, [
      outcome(retry, { kind: "retry", retryAfterMs: null }, 500),
    ]);

    expect(paused).toMatch(/^every push failed since /);
  });

  it("emits failing, paused and recovered events after each change committed", async () => {
    const w = world();
    const { subscription, delivery } = await pushed(w);
    const events: OperationalEvent[] = [];
    const settle = new PushSettlement(w.store, w.clock, HOUR_MS, () => 0.5, undefined, {
      emit: (e) => events.push(e),
    });
    await settle.settle(subscription, [outcome(delivery, { kind: "retry", retryAfterMs: null }, 503)]);
    expect(events.map((e) => [e.type, e.data.httpStatus])).toEqual([["endpoint.failing", 503]]);

    w.clock.advanceMs(HOUR_MS);
    const [retry] = await w.delivery.claim(subscription, pullClaim({ method: "webhook" }));
    await settle.settle(subscription, [outcome(retry, { kind: "retry", retryAfterMs: null }, 503)]);
    expect(events.map((e) => e.type)).toEqual(["endpoint.failing", "subscription.paused"]);

    await w.store.repos.subscriptions.resume(subscription.id, w.clock.nowMs());
    w.clock.advanceMs(HOUR_MS);
    const [again] = await w.delivery.claim(subscription, pullClaim({ method: "webhook" }));
    await settle.settle(subscription, [outcome(again, { kind: "ack" }, 200)]);
    expect(events.map((e) => e.type)).toEqual([
      "endpoint.failing",
      "subscription.paused",
      "endpoint.recovered",
    ]);
    expect(
      events.every((e) => e.subscription === subscription.name && e.topic === subscription.topicCode),
    ).toBe(true);
  });

  it("ignores a stale outcome whose lease expired and was claimed again", async () => {
    const w = world();
    const { subscription, messageId, delivery: stale } = await pushed(w);
    w.clock.advanceMs(30_000);
    await new QueueSweep(w.store, w.clock).run();
    w.clock.advanceMs(backoff.maxBackoffMs);
    const [current] = await w.delivery.claim(subscription, pullClaim({ method: "webhook" }));
    expect(current?.ref.leaseToken).not.toBe(stale.ref.leaseToken);

    await settlement(w).settle(subscription, [outcome(stale, { kind: "gone" }, 410)]);

    const row = await queueRow(w, subscription, messageId);
    expect({ status: row.status, attemptCount: row.attemptCount }).toEqual({
      status: "leased",
      attemptCount: 1,
    });
    expect(await w.store.repos.deadLetters.listBySubscription(subscription.id)).toEqual([]);
  });

  it("lets the current outcome decide when a stale one settles in the same batch", async () => {
    const w = world();
    const { subscription, messageId, delivery: stale } = await pushed(w);
    w.clock.advanceMs(30_000);
    await new QueueSweep(w.store, w.clock).run();
    w.clock.advanceMs(backoff.maxBackoffMs);
    const [current] = await w.delivery.claim(subscription, pullClaim({ method: "webhook" }));

    await settlement(w).settle(subscription, [
      outcome(stale, { kind: "gone" }, 410),
      outcome(current, { kind: "ack" }, 200),
    ]);

    expect((await queueRow(w, subscription, messageId)).status).toBe("sent");
  });

  it("gives back an outcome marked given back without counting an attempt", async () => {
    const w = world();
    const { subscription, messageId, delivery } = await pushed(w);

    await settlement(w).settle(subscription, [
      { ...outcome(delivery, { kind: "retry", retryAfterMs: null }, 0), httpStatus: null, givenBack: true },
    ]);

    const row = await queueRow(w, subscription, messageId);
    expect({ status: row.status, attemptCount: row.attemptCount }).toEqual({
      status: "pending",
      attemptCount: 0,
    });
  });
});
