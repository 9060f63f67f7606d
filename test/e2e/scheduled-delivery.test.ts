/**
 * Scheduled delivery (PublishMessage.deliver_at) through the real server: a scheduled message is
 * stored at once but neither pulled nor streamed before its time, inspection shows it, a time
 * more than 31 days ahead is INVALID_ARGUMENT naming the field, and the schedule lives in the
 * database: a server started after the publishing one stopped delivers it on time.
 */
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { FakeClock } from "../../src/domain/clock.js";
import { expectCode } from "../support/expect-error.js";
import { createFixture, text, untext } from "../support/fixtures.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "scheduled delivery on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    // Claims follow this clock: the test moves it to the scheduled time instead of waiting.
    const clock = new FakeClock(Date.now());

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, { sweepIntervalMs: 60_000 }, { clock });
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    const pulledData = async (subscription: string) =>
      (await t.subscriber.pull({ subscription, maxMessages: 10 })).receivedMessages.map((m) =>
        untext(m.message?.data),
      );

    it("holds a scheduled message back until its time and shows it as scheduled", async () => {
      const f = await createFixture(t, { deliveryType: DeliveryType.PULL });
      const deliverAtMs = clock.nowMs() + HOUR_MS;
      const [, laterId] = await f.publish([
        { data: text("now") },
        { data: text("later"), deliverAt: timestampFromMs(deliverAtMs) },
        { data: text("past"), deliverAt: timestampFromMs(clock.nowMs() - DAY_MS) },
      ]);
      expect((await pulledData(f.subscription)).sort()).toEqual(["now", "past"]);

      const { queueItems } = await t.admin.listQueueItems({
        subscription: f.subscription,
        status: "pending",
      });
      expect(
        queueItems.map((q) => [q.messageId, q.deliverTime && timestampDate(q.deliverTime).getTime()]),
      ).toEqual([[laterId, deliverAtMs]]);
      expect(queueItems[0]?.expireTime && timestampDate(queueItems[0].expireTime).getTime()).toBe(
        deliverAtMs + DAY_MS,
      );
      const { stats } = await t.admin.getSubscriptionStats({ name: f.subscription });
      expect(stats?.scheduled).toBe(1n);

      clock.advanceMs(HOUR_MS - 1);
      expect(await pulledData(f.subscription)).toEqual([]);
      clock.advanceMs(1);
      expect(await pulledData(f.subscription)).toEqual(["later"]);
    });

    it("refuses a delivery time more than 31 days ahead, naming the field", async () => {
      const f = await createFixture(t, { deliveryType: DeliveryType.PULL });
      await expectCode(
        f.publish([
          { data: text("ok"), deliverAt: timestampFromMs(clock.nowMs() + 31 * DAY_MS) },
          { data: text("too far"), deliverAt: timestampFromMs(clock.nowMs() + 31 * DAY_MS + 1_000) },
        ]),
        Code.InvalidArgument,
        "messages[1].deliver_at",
      );
      // Nothing of the refused request was stored.
      clock.advanceMs(32 * DAY_MS);
      expect(await pulledData(f.subscription)).toEqual([]);
    });
  },
);

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "scheduled delivery across a restart on %s",
  (_k, target) => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await target.create();
    });
    afterAll(async () => {
      await db?.drop();
    });

    it("delivers on a server started after the publishing one stopped, not before the time", async () => {
      const first = await startTestServer(db);
      let f: Awaited<ReturnType<typeof createFixture>>;
      const deliverAtMs = Date.now() + 2_000;
      try {
        f = await createFixture(first, { deliveryType: DeliveryType.PULL });
        await f.publish([{ data: text("scheduled"), deliverAt: timestampFromMs(deliverAtMs) }]);
      } finally {
        await first.stop();
      }
      const second = await startTestServer(db, { pollMaxMs: 50 });
      const controller = new AbortController();
      try {
        const stream = second.subscriber.subscribe(
          { subscription: f.subscription },
          { signal: controller.signal, timeoutMs: 30_000 },
        );
        for await (const response of stream) {
          if (response.receivedMessages.length === 0) continue;
          // The stream's first claim runs at once; the message must only come at its time.
          expect(Date.now()).toBeGreaterThanOrEqual(deliverAtMs);
          expect(response.receivedMessages.map((m) => untext(m.message?.data))).toEqual(["scheduled"]);
          break;
        }
      } finally {
        controller.abort();
        await second.stop();
      }
    });
  },
);
