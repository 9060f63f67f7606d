/** The queue sweep (QueueSweep) over in-memory SQLite: expired leases and expired items, by the fake clock. */
import { describe, expect, it } from "vitest";
import { QueueSweep } from "../../src/app/consume/queue-sweep.js";
import {
  outgoing,
  publish,
  pullClaim,
  queueRow,
  subscribe,
  type UseCaseWorld,
  useWorld,
} from "./use-case-world.js";

const TTL_MS = 600_000;
const backoff = { minBackoffMs: 10_000, maxBackoffMs: 60_000 };

function sweep(w: UseCaseWorld) {
  return new QueueSweep(w.store, w.clock).run();
}

describe("queue sweep use case", () => {
  const world = useWorld();

  it("leaves a message within its retention in the queue", async () => {
    const w = world();
    const subscription = await subscribe(w, { messageTtlMs: TTL_MS });
    const [messageId] = await publish(w, outgoing("fresh"));

    w.clock.advanceMs(TTL_MS - 1);
    const result = await sweep(w);

    expect(result.expiredItems).toBe(0);
    expect((await queueRow(w, subscription, messageId as bigint)).status).toBe("pending");
  });

  it("dead-letters a never-delivered message past its retention with reason EXPIRED", async () => {
    const w = world();
    const subscription = await subscribe(w, { messageTtlMs: TTL_MS });
    const [messageId] = await publish(w, outgoing("stale"));

    w.clock.advanceMs(TTL_MS);
    const result = await sweep(w);

    expect(result.expiredItems).toBe(1);
    expect([...result.subscriptionIds]).toEqual([subscription.id]);
    expect((await queueRow(w, subscription, messageId as bigint)).status).toBe("dead_lettered");
    const deadLetters = await w.store.repos.deadLetters.listBySubscription(subscription.id);
    expect(
      deadLetters.map((d) => ({ messageId: d.messageId, reason: d.failureReason, attempts: d.attemptCount })),
    ).toEqual([{ messageId, reason: "EXPIRED", attempts: 0 }]);
  });

  it("logs an expired message as skipped with reason expired", async () => {
    const w = world();
    await subscribe(w, { messageTtlMs: TTL_MS });
    const [messageId] = await publish(w, outgoing("stale"));

    w.clock.advanceMs(TTL_MS);
    await sweep(w);

    const logs = await w.store.repos.notificationLogs.listByMessage(messageId as bigint);
    expect(logs.map((l) => ({ status: l.status, skippedReason: l.skippedReason }))).toEqual([
      { status: "skipped", skippedReason: "expired" },
    ]);
  });

  it("dead-letters a message waiting for its retry past its retention with EXPIRED and keeps its last error", async () => {
    const w = world();
    const subscription = await subscribe(w, { ...backoff, messageTtlMs: TTL_MS });
    await publish(w, outgoing("nacked"));
    const [delivery] = await w.delivery.claim(subscription, pullClaim());
    await w.delivery.modifyAckDeadline(subscription, [delivery?.ackId ?? ""], 0);

    w.clock.advanceMs(TTL_MS);
    await sweep(w);

    const deadLetters = await w.store.repos.deadLetters.listBySubscription(subscription.id);
    expect(
      deadLetters.map((d) => ({ reason: d.failureReason, lastError: d.lastError, attempts: d.attemptCount })),
    ).toEqual([{ reason: "EXPIRED", lastError: "nack", attempts: 1 }]);
  });

  it("does not expire a message past its retention while a consumer holds its lease", async () => {
    const w = world();
    const subscription = await subscribe(w, { messageTtlMs: TTL_MS });
    const [messageId] = await publish(w, outgoing("in flight"));
    w.clock.advanceMs(TTL_MS - 1_000);
    await w.delivery.claim(subscription, pullClaim({ leaseMs: 60_000 }));

    w.clock.advanceMs(1_000);
    const result = await sweep(w);

    expect(result.expiredItems).toBe(0);
    expect((await queueRow(w, subscription, messageId as bigint)).status).toBe("leased");
  });

  it("expires only the subscription whose retention passed", async () => {
    const w = world();
    const short = await subscribe(w, { messageTtlMs: TTL_MS });
    const long = await subscribe(w, { messageTtlMs: 10 * TTL_MS });
    const [messageId] = await publish(w, outgoing("fan-out"));

    w.clock.advanceMs(TTL_MS);
    await sweep(w);

    expect((await queueRow(w, short, messageId as bigint)).status).toBe("dead_lettered");
    expect((await queueRow(w, long, messageId as bigint)).status).toBe("pending");
  });

  it("records an expired lease as a failed attempt with the error ack deadline exceeded", async () => {
    const w = world();
    const subscription = await subscribe(w, backoff);
    const [messageId] = await publish(w, outgoing("unacked"));
    await w.delivery.claim(subscription, pullClaim({ leaseMs: 30_000 }));

    w.clock.advanceMs(30_000);
    const result = await sweep(w);

    expect(result.expiredLeases).toBe(1);
    const row = await queueRow(w, subscription, messageId as bigint);
    expect({ status: row.status, attemptCount: row.attemptCount }).toEqual({
      status: "failed",
      attemptCount: 1,
    });
    const logs = await w.store.repos.notificationLogs.listByMessage(messageId as bigint);
    expect(logs.map((l) => ({ status: l.status, error: l.error }))).toEqual([
      { status: "failed", error: "ack deadline exceeded" },
    ]);
  });

  it("leaves a lease that has not expired yet alone", async () => {
    const w = world();
    const subscription = await subscribe(w, backoff);
    const [messageId] = await publish(w, outgoing("in time"));
    await w.delivery.claim(subscription, pullClaim({ leaseMs: 30_000 }));

    w.clock.advanceMs(29_999);
    const result = await sweep(w);

    expect(result.expiredLeases).toBe(0);
    expect((await queueRow(w, subscription, messageId as bigint)).status).toBe("leased");
  });

  it("dead-letters with MAX_ATTEMPTS a message whose lease expired on its last allowed attempt", async () => {
    const w = world();
    const subscription = await subscribe(w, { ...backoff, maxDeliveryAttempts: 1 });
    await publish(w, outgoing("last chance"));
    await w.delivery.claim(subscription, pullClaim({ leaseMs: 30_000 }));

    w.clock.advanceMs(30_000);
    await sweep(w);

    const deadLetters = await w.store.repos.deadLetters.listBySubscription(subscription.id);
    expect(deadLetters.map((d) => ({ reason: d.failureReason, lastError: d.lastError }))).toEqual([
      { reason: "MAX_ATTEMPTS", lastError: "ack deadline exceeded" },
    ]);
  });
});
