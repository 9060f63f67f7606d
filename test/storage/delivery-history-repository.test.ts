/**
 * Conformance of DeliveryHistoryRepository on every test database: sent and failed deliveries
 * counted per minute by the database, narrowed by subscription, subscriber and window start.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { testDatabaseTargets } from "../support/test-databases.js";
import { NOW_MS, useConformanceStore } from "./conformance-setup.js";

const MINUTE_MS = 60_000;
const MINUTE = NOW_MS - (NOW_MS % MINUTE_MS);

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "delivery history on %s",
  (_kind, target) => {
    const store = useConformanceStore(target);

    beforeEach(async () => {
      await store().knex("notification_logs").delete();
    });

    let nextMessageId = 1;
    /** One log row; the repository reads only these columns, so the message and queue rows need not exist. */
    function logRow(subscriptionId: number, subscriberId: number, status: string, createdAtMs: number) {
      nextMessageId += 1;
      return {
        subscription_id: subscriptionId,
        message_id: nextMessageId,
        identifier: "id",
        topic_code: "t",
        subscriber_type: "client",
        subscriber_id: subscriberId,
        delivery_method: "pull",
        status,
        created_at_ms: createdAtMs,
      };
    }

    it("counts sent and failed rows per minute, oldest minute first, leaving out other statuses", async () => {
      await store()
        .knex("notification_logs")
        .insert([
          logRow(1, 1, "sent", MINUTE - MINUTE_MS),
          logRow(1, 1, "sent", MINUTE - 1),
          logRow(1, 1, "failed", MINUTE - MINUTE_MS + 59_999),
          logRow(1, 1, "sent", MINUTE),
          logRow(1, 1, "sent", MINUTE + 59_999),
          logRow(1, 1, "skipped", MINUTE + 1),
          logRow(1, 1, "pending", MINUTE + 2),
        ]);
      const minutes = await store().repos.deliveryHistory.deliveriesPerMinute({
        sinceMs: MINUTE - 10 * MINUTE_MS,
      });
      expect(minutes).toEqual([
        { minuteStartMs: MINUTE - MINUTE_MS, sent: 2, failed: 1 },
        { minuteStartMs: MINUTE, sent: 2, failed: 0 },
      ]);
    });

    it("narrows by subscription, by subscriber and by the window start", async () => {
      await store()
        .knex("notification_logs")
        .insert([
          logRow(1, 10, "sent", MINUTE),
          logRow(2, 10, "failed", MINUTE),
          logRow(3, 20, "sent", MINUTE),
          logRow(1, 10, "sent", MINUTE - 5 * MINUTE_MS),
        ]);
      const repo = store().repos.deliveryHistory;
      expect(
        await repo.deliveriesPerMinute({ subscriptionId: 2n, sinceMs: MINUTE - 10 * MINUTE_MS }),
      ).toEqual([{ minuteStartMs: MINUTE, sent: 0, failed: 1 }]);
      expect(await repo.deliveriesPerMinute({ subscriberId: 10n, sinceMs: MINUTE - 10 * MINUTE_MS })).toEqual(
        [
          { minuteStartMs: MINUTE - 5 * MINUTE_MS, sent: 1, failed: 0 },
          { minuteStartMs: MINUTE, sent: 1, failed: 1 },
        ],
      );
      expect(await repo.deliveriesPerMinute({ sinceMs: MINUTE })).toEqual([
        { minuteStartMs: MINUTE, sent: 2, failed: 1 },
      ]);
    });
  },
);
