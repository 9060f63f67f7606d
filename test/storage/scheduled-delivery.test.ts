/**
 * Scheduled delivery in storage, on every test database: a message stored with deliverAtMs fans
 * out to queue rows that become claimable at that time (set-based and filtered fan-out alike),
 * whose TTL counts from it, and that inspection reports as scheduled.
 */
import { describe, expect, it } from "vitest";
import type { KnexStore } from "../../src/storage/knex-store.js";
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

const HOUR_MS = 3_600_000;
const TTL_MS = 86_400_000;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "scheduled delivery on %s",
  (_kind, target) => {
    const store = useConformanceStore(target);

    async function claimableIds(s: KnexStore, subscriptionId: bigint, nowMs: number): Promise<bigint[]> {
      const rows = await s.transaction((repos) =>
        repos.deliveries.lockClaimable({ subscriptionId, ordered: false, limit: 10, nowMs }),
      );
      return rows.map((r) => r.messageId);
    }

    /** A topic with one plain and one attribute-filtered subscription; two messages, the second scheduled. */
    async function publishNowAndLater(deliverAtMs: number) {
      const s = store();
      const topic = await createTopic(s);
      const publisher = await createPublisher(s);
      const subscriber = await createSubscriber(s);
      const plain = await createSubscription(s, {
        topicId: topic.id,
        subscriberId: subscriber.id,
        deliveryType: "pull",
        messageTtlMs: TTL_MS,
      });
      const filtered = await createSubscription(s, {
        topicId: topic.id,
        subscriberId: subscriber.id,
        deliveryType: "pull",
        messageTtlMs: TTL_MS,
        attributeFilter: "attributes:kind",
      });
      const ids = await s.repos.messages.insertMany([
        messageToStore(topic.id, publisher.id, { attributes: { kind: "now" } }),
        messageToStore(topic.id, publisher.id, { attributes: { kind: "later" }, deliverAtMs }),
      ]);
      await s.repos.queue.fanOut(ids, NOW_MS);
      await s.repos.queue.fanOutTo(filtered.id, ids, NOW_MS);
      return { s, plain, filtered, now: ids[0] as bigint, later: ids[1] as bigint };
    }

    it("holds a scheduled message back until its time, on plain and filtered subscriptions", async () => {
      const deliverAtMs = NOW_MS + HOUR_MS;
      const { s, plain, filtered, now, later } = await publishNowAndLater(deliverAtMs);
      for (const sub of [plain, filtered]) {
        expect(await claimableIds(s, sub.id, deliverAtMs - 1)).toEqual([now]);
        expect(await s.repos.deliveries.nextClaimableAtMs(sub.id, false, deliverAtMs - 1)).toBe(NOW_MS);
      }
      // Nothing else claimable: the next claimable time is the scheduled one.
      const nowRow = (await s.repos.queue.listByMessage(now)).find((r) => r.subscriptionId === plain.id);
      await leaseItems(s, [nowRow?.id ?? 0n], NOW_MS, 10 * HOUR_MS);
      expect(await s.repos.deliveries.nextClaimableAtMs(plain.id, false, NOW_MS)).toBe(deliverAtMs);
      expect(await claimableIds(s, plain.id, deliverAtMs)).toEqual([later]);
      expect(await claimableIds(s, filtered.id, deliverAtMs)).toEqual([now, later]);
    });

    it("counts the TTL of a scheduled message from its delivery time", async () => {
      const deliverAtMs = NOW_MS + 2 * HOUR_MS;
      const { s, now, later } = await publishNowAndLater(deliverAtMs);
      const nowRows = await s.repos.queue.listByMessage(now);
      const laterRows = await s.repos.queue.listByMessage(later);
      expect(nowRows.map((r) => r.expiresAtMs)).toEqual([NOW_MS + TTL_MS, NOW_MS + TTL_MS]);
      expect(laterRows.map((r) => r.expiresAtMs)).toEqual([deliverAtMs + TTL_MS, deliverAtMs + TTL_MS]);
    });

    it("shows scheduled items and their time in inspection", async () => {
      const deliverAtMs = NOW_MS + HOUR_MS;
      const { s, plain, now, later } = await publishNowAndLater(deliverAtMs);
      const page = await s.repos.inspection.listQueueItems(plain.id, "pending", { afterId: null, limit: 10 });
      const byMessage = new Map(page.items.map((i) => [i.messageId, i.deliverAtMs]));
      expect(byMessage).toEqual(
        new Map([
          [now, null],
          [later, deliverAtMs],
        ]),
      );
      expect((await s.repos.inspection.subscriptionStats(plain.id, NOW_MS)).scheduled).toBe(1);
      expect((await s.repos.inspection.subscriptionStats(plain.id, deliverAtMs)).scheduled).toBe(0);
    });
  },
);
