import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { FakeClock } from "../../src/domain/clock.js";
import { DEFAULT_PUSH_RETRY_SCHEDULE_MS } from "../../src/domain/retry-schedule.js";
import { text } from "../support/fixtures.js";
import { PUSH_TEST_ENV } from "../support/push-env.js";
import { eventually, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { startWebhookSink } from "../support/webhook-sink.js";

const PUSH_ENV = {
  ...PUSH_TEST_ENV,
  HERALD_PUSH_TIMEOUT_MS: "2000",
  HERALD_SWEEP_INTERVAL_MS: "100",
};
const MINUTE_MS = 60_000;
const MESSAGES = 20;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "default push retry schedule on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let sink: Awaited<ReturnType<typeof startWebhookSink>>;
    let isDown = true;
    // The server's time: retries come due when the test moves it, not by waiting ten real minutes.
    const clock = new FakeClock(Date.now());

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { clock, env: PUSH_ENV });
      sink = await startWebhookSink(() => (isDown ? { status: 503, body: "deploying" } : { status: 204 }));
    });
    afterAll(async () => {
      await t?.stop();
      await sink?.close();
      await db?.drop();
    });

    it("shows the default schedule on a PUSH subscription created without a retry policy", async () => {
      await t.admin.createPublisher({ code: "deployer", name: "d" });
      await t.admin.createTopic({ code: "deploys", name: "d" });
      const { subscriber } = await t.admin.createSubscriber({
        clientId: 3n,
        name: "r",
        webhookUrl: sink.url,
      });
      await t.admin.createSubscription({
        name: "deploy-hook",
        subscriberId: subscriber?.id ?? 0n,
        topic: "deploys",
        deliveryType: DeliveryType.PUSH,
      });
      const { subscription } = await t.admin.getSubscription({ name: "deploy-hook" });
      const scheduleMs = subscription?.retrySchedule.map((d) => Number(d.seconds) * 1000) ?? [];
      expect(scheduleMs).toEqual([...DEFAULT_PUSH_RETRY_SCHEDULE_MS]);
      expect(subscription?.maxDeliveryAttempts).toBe(DEFAULT_PUSH_RETRY_SCHEDULE_MS.length + 1);
      expect(subscription?.effectiveRetryDelays.map((d) => Number(d.seconds) * 1000)).toEqual(scheduleMs);
      expect(subscription?.messageTtl?.seconds).toBe(7n * 24n * 3600n);
      // A PULL subscription keeps exponential backoff.
      const pull = await t.admin.createSubscription({
        name: "deploy-pull",
        subscriberId: subscriber?.id ?? 0n,
        topic: "deploys",
      });
      expect(pull.subscription?.retrySchedule).toEqual([]);
      expect(pull.subscription?.effectiveRetryDelays.map((d) => Number(d.seconds))).toEqual([10, 20, 40, 80]);
    });

    it("loses nothing to the DLQ while the receiver is down for ten minutes, and delivers all after", async () => {
      await t.server.refreshPushers();
      const startMs = clock.nowMs();
      const ids = (
        await t.publisher.publish({
          publisher: "deployer",
          topic: "deploys",
          messages: Array.from({ length: MESSAGES }, (_, i) => ({ data: text(`event ${i}`) })),
        })
      ).messageIds;
      const attemptsOf = (id: string) => sink.received.filter((p) => p.json?.message.messageId === id).length;
      /** Waits until every message was pushed `n` times and every failure is recorded (none in flight). */
      const attemptsMade = async (n: number) => {
        await until(() => ids.every((id) => attemptsOf(id) >= n), 30_000, `${n} attempts of every message`);
        await eventually(
          () => t.admin.getSubscriptionStats({ name: "deploy-hook" }),
          (r) => r.stats?.inFlight === 0n && r.stats?.waitingForRetry === BigInt(MESSAGES),
          20_000,
          "every failure recorded",
        );
      };
      // Attempt 1 fails and the first retry is immediate.
      await attemptsMade(2);
      clock.advanceMs(6_000); // past 5 s + 20 % jitter
      await attemptsMade(3);
      clock.advanceMs(6 * MINUTE_MS); // past 5 min + 20 %
      await attemptsMade(4);
      // Still down until ten minutes have passed; the next retry is 30 min ± 20 % after attempt 4 (6 min 6 s).
      clock.setMs(startMs + 10 * MINUTE_MS);
      expect(ids.every((id) => attemptsOf(id) === 4)).toBe(true);
      isDown = false;
      clock.advanceMs(33 * MINUTE_MS); // 43 min: past 6 min 6 s + 36 min since publish
      await until(
        () =>
          ids.every((id) => sink.received.some((p) => p.json?.message.messageId === id && p.status === 204)),
        30_000,
        "every message delivered",
      );
      const sub = await t.server.store.repos.subscriptions.findByName("deploy-hook");
      expect(await t.server.store.repos.deadLetters.listBySubscription(sub?.id ?? 0n)).toEqual([]);
      const delivered = sink.received.filter((p) => p.status === 204);
      expect(new Set(delivered.map((p) => p.json.message.messageId)).size).toBe(MESSAGES);
      expect(delivered.every((p) => p.json.deliveryAttempt === 5)).toBe(true);
    }, 120_000);
  },
);
