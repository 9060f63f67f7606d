/** The pull-delivery use case (DeliveryService) over in-memory SQLite, driven by a fake clock. */
import { describe, expect, it } from "vitest";
import { QueueSweep } from "../../src/app/consume/queue-sweep.js";
import { computeBackoffMs } from "../../src/domain/backoff.js";
import { outgoing, publish, pullClaim, queueRow, subscribe, text, useWorld } from "./use-case-world.js";

const backoff = { minBackoffMs: 10_000, maxBackoffMs: 600_000 };

describe("delivery use case", () => {
  const world = useWorld();

  it("delivers a published message on its first attempt and marks it sent when acked", async () => {
    const w = world();
    const subscription = await subscribe(w);
    const [messageId] = await publish(w, outgoing("hello"));

    const [delivery, ...rest] = await w.delivery.claim(subscription, pullClaim());
    expect(rest).toEqual([]);
    expect(delivery?.deliveryAttempt).toBe(1);
    expect(text(delivery?.message.data ?? new Uint8Array())).toBe("hello");

    const outcome = await w.delivery.acknowledge(subscription, [delivery?.ackId ?? ""]);
    expect(outcome.invalidAckIds).toEqual([]);
    expect((await queueRow(w, subscription, messageId as bigint)).status).toBe("sent");
  });

  it("does not deliver an acked message again", async () => {
    const w = world();
    const subscription = await subscribe(w);
    await publish(w, outgoing("once"));
    const [delivery] = await w.delivery.claim(subscription, pullClaim());
    await w.delivery.acknowledge(subscription, [delivery?.ackId ?? ""]);

    w.clock.advanceMs(3_600_000);
    expect(await w.delivery.claim(subscription, pullClaim())).toEqual([]);
  });

  it("does not deliver a leased message to a second claim while its lease runs", async () => {
    const w = world();
    const subscription = await subscribe(w);
    await publish(w, outgoing("leased"));
    expect(await w.delivery.claim(subscription, pullClaim({ leaseMs: 30_000 }))).toHaveLength(1);

    w.clock.advanceMs(29_999);
    expect(await w.delivery.claim(subscription, pullClaim())).toEqual([]);
  });

  it("makes a message whose lease expired claimable again, after the sweep and the backoff, as attempt 2", async () => {
    const w = world();
    const subscription = await subscribe(w, backoff);
    const [messageId] = await publish(w, outgoing("slow consumer"));
    await w.delivery.claim(subscription, pullClaim({ leaseMs: 30_000 }));

    w.clock.advanceMs(30_000);
    const swept = await new QueueSweep(w.store, w.clock).run();
    expect(swept.expiredLeases).toBe(1);
    const row = await queueRow(w, subscription, messageId as bigint);
    expect({ status: row.status, attemptCount: row.attemptCount }).toEqual({
      status: "failed",
      attemptCount: 1,
    });

    // The sweep's jitter is random: past the largest first backoff (+20 %) the message is due.
    w.clock.advanceMs(backoff.minBackoffMs * 1.2 + 1);
    const [again] = await w.delivery.claim(subscription, pullClaim());
    expect(again?.message.id).toBe(messageId);
    expect(again?.deliveryAttempt).toBe(2);
  });

  it("rejects an ack whose lease expired and was swept", async () => {
    const w = world();
    const subscription = await subscribe(w, backoff);
    await publish(w, outgoing("late ack"));
    const [delivery] = await w.delivery.claim(subscription, pullClaim({ leaseMs: 30_000 }));
    w.clock.advanceMs(30_000);
    await new QueueSweep(w.store, w.clock).run();

    const outcome = await w.delivery.acknowledge(subscription, [delivery?.ackId ?? ""]);
    expect(outcome.invalidAckIds).toEqual([delivery?.ackId]);
  });

  it("keeps a nacked message back until the clock reaches its backoff, then delivers it as attempt 2", async () => {
    const w = world();
    const subscription = await subscribe(w, backoff);
    const [messageId] = await publish(w, outgoing("nack me"));
    const [delivery] = await w.delivery.claim(subscription, pullClaim());
    const nackedAtMs = w.clock.nowMs();

    await w.delivery.modifyAckDeadline(subscription, [delivery?.ackId ?? ""], 0);

    // DeliveryService's random is fixed at 0.5: no jitter, the first backoff is exactly the minimum.
    const delayMs = computeBackoffMs({ attempt: 1, ...backoff, random: () => 0.5 });
    const retryAtMs = nackedAtMs + delayMs;
    expect(await w.delivery.nextClaimableAtMs(subscription)).toBe(retryAtMs);
    w.clock.setMs(retryAtMs - 1);
    expect(await w.delivery.claim(subscription, pullClaim())).toEqual([]);
    w.clock.setMs(retryAtMs);
    const [again] = await w.delivery.claim(subscription, pullClaim());
    expect(again?.message.id).toBe(messageId);
    expect(again?.deliveryAttempt).toBe(2);
  });

  it("holds the second message of an ordering key back until the first is acked", async () => {
    const w = world();
    const subscription = await subscribe(w, { enableOrdering: true });
    const [first, second] = await publish(
      w,
      outgoing("k-1", { orderingKey: "k" }),
      outgoing("k-2", { orderingKey: "k" }),
    );

    const firstClaim = await w.delivery.claim(subscription, pullClaim());
    expect(firstClaim.map((d) => d.message.id)).toEqual([first]);
    expect(await w.delivery.claim(subscription, pullClaim())).toEqual([]);

    await w.delivery.acknowledge(subscription, [firstClaim[0]?.ackId ?? ""]);
    const secondClaim = await w.delivery.claim(subscription, pullClaim());
    expect(secondClaim.map((d) => d.message.id)).toEqual([second]);
  });

  it("does not hold back a message of another ordering key while one key waits for its ack", async () => {
    const w = world();
    const subscription = await subscribe(w, { enableOrdering: true });
    const [a1, , b1] = await publish(
      w,
      outgoing("a-1", { orderingKey: "a" }),
      outgoing("a-2", { orderingKey: "a" }),
      outgoing("b-1", { orderingKey: "b" }),
    );

    const claimed = await w.delivery.claim(subscription, pullClaim());
    expect(claimed.map((d) => d.message.id).sort()).toEqual([a1, b1].sort());
  });

  it("dead-letters a message with MAX_ATTEMPTS when its last allowed attempt is nacked", async () => {
    const w = world();
    const subscription = await subscribe(w, { ...backoff, maxDeliveryAttempts: 2 });
    const [messageId] = await publish(w, outgoing("poison"));

    const [firstTry] = await w.delivery.claim(subscription, pullClaim());
    await w.delivery.modifyAckDeadline(subscription, [firstTry?.ackId ?? ""], 0);
    w.clock.advanceMs(backoff.maxBackoffMs);
    const [secondTry] = await w.delivery.claim(subscription, pullClaim());
    expect(secondTry?.deliveryAttempt).toBe(2);
    await w.delivery.modifyAckDeadline(subscription, [secondTry?.ackId ?? ""], 0);

    expect((await queueRow(w, subscription, messageId as bigint)).status).toBe("dead_lettered");
    const deadLetters = await w.store.repos.deadLetters.listBySubscription(subscription.id);
    expect(
      deadLetters.map((d) => ({ messageId: d.messageId, reason: d.failureReason, attempts: d.attemptCount })),
    ).toEqual([{ messageId, reason: "MAX_ATTEMPTS", attempts: 2 }]);
    w.clock.advanceMs(backoff.maxBackoffMs);
    expect(await w.delivery.claim(subscription, pullClaim())).toEqual([]);
  });
});
