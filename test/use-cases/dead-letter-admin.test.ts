/** Dead-letter administration (DeadLetterAdmin) over in-memory SQLite, driven by a fake clock. */
import { describe, expect, it } from "vitest";
import { DeadLetterAdmin } from "../../src/app/dead-letters/dead-letter-admin.js";
import { DomainError } from "../../src/domain/domain-error.js";
import type { Subscription } from "../../src/domain/subscription.js";
import { expectDomainError } from "../storage/conformance-setup.js";
import { outgoing, publish, pullClaim, subscribe, type UseCaseWorld, useWorld } from "./use-case-world.js";

/**
 * A pull subscription allowing one attempt, and `count` messages nacked into its dead-letter queue
 * one second apart. Returns the dead-letter ids, oldest first.
 */
async function deadLettered(
  w: UseCaseWorld,
  count: number,
): Promise<{ subscription: Subscription; ids: bigint[]; messageIds: bigint[] }> {
  const subscription = await subscribe(w, { maxDeliveryAttempts: 1 });
  const messageIds: bigint[] = [];
  for (let i = 0; i < count; i++) {
    messageIds.push(...(await publish(w, outgoing(`poison-${i}`))));
    const claimed = await w.delivery.claim(subscription, pullClaim());
    await w.delivery.modifyAckDeadline(
      subscription,
      claimed.map((d) => d.ackId),
      0,
    );
    w.clock.advanceMs(1_000);
  }
  const ids = (await w.store.repos.deadLetters.listBySubscription(subscription.id))
    .map((d) => d.id)
    .sort((a, b) => (a < b ? -1 : 1));
  if (ids.length !== count) throw new Error(`expected ${count} dead letters, got ${ids.length}`);
  return { subscription, ids, messageIds };
}

function admin(w: UseCaseWorld): DeadLetterAdmin {
  return new DeadLetterAdmin(w.store, w.clock);
}

/** Checks that `promise` rejected as not_found with the reason DEAD_LETTER_NOT_FOUND. */
async function expectNotFound(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).kind).toBe("not_found");
  expect((error as DomainError).reason).toBe("DEAD_LETTER_NOT_FOUND");
}

async function queueRowCount(w: UseCaseWorld, messageId: bigint | undefined): Promise<number> {
  return (await w.store.repos.queue.listByMessage(messageId as bigint)).length;
}

describe("dead-letter admin use case", () => {
  const world = useWorld();

  it("lists a subscription's dead letters newest first with their reason and subscription name", async () => {
    const w = world();
    const { subscription, ids } = await deadLettered(w, 2);

    const page = await admin(w).list({ subscription: subscription.name, failureReason: "" }, 10, "");

    expect(page.items.map((d) => ({ id: d.id, reason: d.failureReason, name: d.subscriptionName }))).toEqual([
      { id: ids[1], reason: "MAX_ATTEMPTS", name: subscription.name },
      { id: ids[0], reason: "MAX_ATTEMPTS", name: subscription.name },
    ]);
  });

  it("lists only the dead letters of the subscription named in the filter", async () => {
    const w = world();
    const { subscription } = await deadLettered(w, 1);
    const other = await subscribe(w);

    const page = await admin(w).list({ subscription: other.name, failureReason: "" }, 10, "");

    expect(page.items).toEqual([]);
    const own = await admin(w).list({ subscription: subscription.name, failureReason: "" }, 10, "");
    expect(own.items).toHaveLength(1);
  });

  it("pages through dead letters with the page token", async () => {
    const w = world();
    const { subscription, ids } = await deadLettered(w, 3);
    const filter = { subscription: subscription.name, failureReason: "" };

    const first = await admin(w).list(filter, 2, "");
    const second = await admin(w).list(filter, 2, first.nextPageToken);

    expect([...first.items, ...second.items].map((d) => d.id)).toEqual([...ids].reverse());
  });

  it("counts total, unresolved and resolved dead letters and their ages in the stats", async () => {
    const w = world();
    const { subscription, ids } = await deadLettered(w, 2);
    await admin(w).resolve([ids[0] as bigint], "ops", "handled");
    w.clock.advanceMs(9_000);

    const stats = await admin(w).stats(subscription.name);

    expect(stats).toMatchObject({
      totalItems: 2,
      unresolvedItems: 1,
      resolvedItems: 1,
      topFailureReason: "MAX_ATTEMPTS",
      oldestItemAgeSeconds: 11,
      newestItemAgeSeconds: 10,
      lastUpdatedMs: w.clock.nowMs(),
    });
  });

  it("puts a replayed dead letter back in its subscription's queue as a fresh first attempt", async () => {
    const w = world();
    const { subscription, ids, messageIds } = await deadLettered(w, 1);

    const replayed = await admin(w).replay({ ids, filter: undefined, force: false, resolvedBy: "ops" });

    expect(replayed).toBe(1);
    const [delivery] = await w.delivery.claim(subscription, pullClaim());
    expect(delivery?.message.id).toBe(messageIds[0]);
    expect(delivery?.deliveryAttempt).toBe(1);
  });

  it("marks a replayed dead letter resolved as replayed by the caller", async () => {
    const w = world();
    const { ids } = await deadLettered(w, 1);

    await admin(w).replay({ ids, filter: undefined, force: false, resolvedBy: "ops" });

    expect(await admin(w).get(ids[0] as bigint)).toMatchObject({
      isResolved: true,
      resolvedBy: "ops",
      resolutionNote: "replayed",
      resolvedAtMs: w.clock.nowMs(),
    });
  });

  it("refuses to replay a dead letter by id a second time and enqueues it only once", async () => {
    const w = world();
    const { ids, messageIds } = await deadLettered(w, 1);
    await admin(w).replay({ ids, filter: undefined, force: false, resolvedBy: "ops" });

    await expectDomainError(admin(w).replay({ ids, filter: undefined, force: false, resolvedBy: "ops" }), {
      kind: "failed_precondition",
      reason: "ALREADY_RESOLVED",
    });

    // The original (dead-lettered) row and the one replay.
    expect(await queueRowCount(w, messageIds[0])).toBe(2);
  });

  it("replays a dead letter by filter only once when the same filter is replayed twice", async () => {
    const w = world();
    const { subscription, messageIds } = await deadLettered(w, 2);
    const filter = { subscription: subscription.name, failureReason: "" };

    expect(await admin(w).replay({ ids: [], filter, force: false, resolvedBy: "ops" })).toBe(2);
    expect(await admin(w).replay({ ids: [], filter, force: false, resolvedBy: "ops" })).toBe(0);

    expect(await queueRowCount(w, messageIds[0])).toBe(2);
    expect(await queueRowCount(w, messageIds[1])).toBe(2);
  });

  it("replays a resolved dead letter again when forced", async () => {
    const w = world();
    const { ids, messageIds } = await deadLettered(w, 1);
    await admin(w).resolve(ids, "ops", "looked at it");

    expect(await admin(w).replay({ ids, filter: undefined, force: true, resolvedBy: "ops" })).toBe(1);

    expect(await queueRowCount(w, messageIds[0])).toBe(2);
  });

  it("resolves a dead letter with who resolved it and the note, without enqueueing it", async () => {
    const w = world();
    const { ids, messageIds } = await deadLettered(w, 1);

    expect(await admin(w).resolve(ids, "ops", "customer informed")).toBe(1);

    expect(await admin(w).get(ids[0] as bigint)).toMatchObject({
      isResolved: true,
      resolvedBy: "ops",
      resolutionNote: "customer informed",
    });
    expect(await queueRowCount(w, messageIds[0])).toBe(1);
  });

  it("keeps the first resolution when a dead letter is resolved again", async () => {
    const w = world();
    const { ids } = await deadLettered(w, 1);
    await admin(w).resolve(ids, "first", "first note");

    expect(await admin(w).resolve(ids, "second", "second note")).toBe(0);

    expect(await admin(w).get(ids[0] as bigint)).toMatchObject({
      resolvedBy: "first",
      resolutionNote: "first note",
    });
  });

  it("answers NOT_FOUND when resolving an unknown dead letter", async () => {
    const w = world();
    await deadLettered(w, 1);

    await expectNotFound(admin(w).resolve([999_999n], "ops", ""));
  });

  it("purges resolved dead letters and keeps unresolved ones by default", async () => {
    const w = world();
    const { subscription, ids } = await deadLettered(w, 2);
    await admin(w).resolve([ids[0] as bigint], "ops", "done");

    const purged = await admin(w).purge({
      olderThanMs: undefined,
      includeUnresolved: false,
      subscription: "",
    });

    expect(purged).toBe(1);
    const left = await admin(w).list({ subscription: subscription.name, failureReason: "" }, 10, "");
    expect(left.items.map((d) => d.id)).toEqual([ids[1]]);
  });

  it("purges unresolved dead letters too when asked to", async () => {
    const w = world();
    const { subscription } = await deadLettered(w, 2);

    const purged = await admin(w).purge({
      olderThanMs: undefined,
      includeUnresolved: true,
      subscription: subscription.name,
    });

    expect(purged).toBe(2);
    expect((await admin(w).stats(subscription.name)).totalItems).toBe(0);
  });

  it("purges only dead letters moved before the given instant", async () => {
    const w = world();
    const { ids } = await deadLettered(w, 2);
    const second = await admin(w).get(ids[1] as bigint);

    const purged = await admin(w).purge({
      olderThanMs: second.movedToDlqAtMs,
      includeUnresolved: true,
      subscription: "",
    });

    expect(purged).toBe(1);
    await expectNotFound(admin(w).get(ids[0] as bigint));
    expect((await admin(w).get(ids[1] as bigint)).id).toBe(ids[1]);
  });
});
