/**
 * Conformance of the claim-side DeliveryRepository queries on every test database: the message
 * sizes a claim budgets with, when the next message becomes claimable, and id lists longer than
 * SQLite's 32,766 bound variables.
 */
import { describe, expect, it } from "vitest";
import type { Store } from "../../src/app/ports/store.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  leaseItems,
  messageToStore,
  NOW_MS,
  useConformanceStore,
} from "./conformance-setup.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("deliveries on %s", (_kind, target) => {
  const store = useConformanceStore(target);

  async function subscriptionWith(
    s: Store,
    messages: Parameters<typeof messageToStore>[2][],
    ordered = false,
  ) {
    const topic = await createTopic(s);
    const publisher = await createPublisher(s);
    const subscriber = await createSubscriber(s);
    const subscription = await createSubscription(s, {
      topicId: topic.id,
      subscriberId: subscriber.id,
      deliveryType: "pull",
      enableOrdering: ordered,
    });
    const ids = await s.repos.messages.insertMany(
      messages.map((m) => messageToStore(topic.id, publisher.id, m)),
    );
    await s.repos.queue.fanOut(ids, NOW_MS);
    return { subscription, messageIds: ids };
  }

  it("gives each claim candidate its message's size: payload plus attribute keys and values", async () => {
    const s = store();
    const { subscription } = await subscriptionWith(s, [
      { data: new Uint8Array(100), attributes: { ab: "cde" } },
      { data: new Uint8Array(7), attributes: {} },
    ]);
    const candidates = await s.transaction((repos) =>
      repos.deliveries.lockClaimable({
        subscriptionId: subscription.id,
        ordered: false,
        limit: 10,
        nowMs: NOW_MS,
      }),
    );
    expect(candidates.map((c) => c.sizeBytes)).toEqual([105, 7]);
  });

  it("says when the next message becomes claimable: now, at its retry time, or never", async () => {
    const s = store();
    const { subscription } = await subscriptionWith(
      s,
      [
        { orderingKey: "k", createdAtMs: NOW_MS },
        { orderingKey: "k", createdAtMs: NOW_MS + 1 },
      ],
      true,
    );
    expect(await s.repos.deliveries.nextClaimableAtMs(subscription.id, true, NOW_MS)).toBeLessThanOrEqual(
      NOW_MS,
    );
    const [head] = await s.transaction((repos) =>
      repos.deliveries.lockClaimable({
        subscriptionId: subscription.id,
        ordered: true,
        limit: 10,
        nowMs: NOW_MS,
      }),
    );
    expect(head).toBeDefined();
    // The head of the key is leased: its successor waits, so nothing is claimable.
    const [headLease] = await leaseItems(s, [head?.id ?? 0n], NOW_MS);
    if (!headLease) throw new Error("expected a lease");
    expect(await s.repos.deliveries.nextClaimableAtMs(subscription.id, true, NOW_MS)).toBeUndefined();
    // Nacked with a 5 s backoff: the head comes due then.
    await s.repos.deliveries.markFailedIfLeased(
      [
        {
          lease: headLease,
          attemptCount: 1,
          lastError: "nack",
          nextRetryAtMs: NOW_MS + 5_000,
          firstAttemptAtMs: NOW_MS,
          lastAttemptAtMs: NOW_MS,
        },
      ],
      NOW_MS,
    );
    expect(await s.repos.deliveries.nextClaimableAtMs(subscription.id, true, NOW_MS)).toBe(NOW_MS + 5_000);
  });

  it("takes id lists beyond SQLite's bound-variable limit in every lease query", async () => {
    const s = store();
    const { subscription } = await subscriptionWith(s, [{}]);
    const [row] = await s.transaction((repos) =>
      repos.deliveries.lockClaimable({
        subscriptionId: subscription.id,
        ordered: false,
        limit: 1,
        nowMs: NOW_MS,
      }),
    );
    const realId = row?.id ?? 0n;
    const [realLease] = await leaseItems(s, [realId], NOW_MS);
    if (!realLease) throw new Error("expected a lease");
    // 40,000 ids, one of them real: the shape of a big coalesced ack batch or a stream's lease check.
    const ids = [...Array.from({ length: 40_000 }, (_, i) => realId + 1_000_000n + BigInt(i)), realId];
    const states = await s.repos.deliveries.findLeaseStates(ids);
    expect(states.map((st) => st.id)).toEqual([realId]);
    const locked = await s.transaction((repos) => repos.deliveries.lockByIds(subscription.id, ids));
    expect(locked.map((r) => r.id)).toEqual([realId]);
    // As many leases, one of them current: the shape of a big coalesced ack or ModifyAckDeadline.
    const leases = ids.map((queueId) => ({ queueId, leaseToken: realLease.leaseToken }));
    expect(await s.repos.deliveries.extendLeasesIfLeased(leases, NOW_MS + 90_000, NOW_MS)).toEqual([realId]);
    expect(await s.repos.deliveries.releaseIfLeased(leases, NOW_MS)).toEqual([realId]);
    await leaseItems(s, [realId], NOW_MS);
    const [again] = await s.repos.deliveries.findLeaseStates([realId]);
    const current = ids.map((queueId) => ({ queueId, leaseToken: again?.leaseToken ?? 0n }));
    expect(await s.repos.deliveries.markSentIfLeased(current, NOW_MS)).toEqual([realId]);
    expect((await s.repos.deliveries.findLeaseStates([realId]))[0]?.status).toBe("sent");
  });
});
