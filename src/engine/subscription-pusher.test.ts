import { describe, expect, it, vi } from "vitest";
import type { Delivery, DeliveryService } from "../app/consume/delivery-service.js";
import type { PushOutcome, PushSettlement } from "../app/push/push-settlement.js";
import { FakeClock } from "../domain/clock.js";
import type { Subscription } from "../domain/subscription.js";
import { createJsonLogger } from "../logger.js";
import { InflightLimiter } from "./inflight-limiter.js";
import { SETTLE_MARGIN_MS, SubscriptionPusher } from "./subscription-pusher.js";
import { Wakeups } from "./wakeups.js";
import type { WebhookClient, WebhookRequest } from "./webhook-client.js";

const TIMEOUT_MS = 1_000;

const subscription = {
  id: 1n,
  name: "s",
  topicId: 2n,
  subscriberId: 3n,
  topicCode: "t",
  pubsubProject: "",
  callbackUrl: "http://127.0.0.1:1/hook",
  ackDeadlineSeconds: 30,
  pushPayload: "wrapped",
  retryScheduleMs: [],
  minBackoffMs: 0,
  maxBackoffMs: 0,
  pushHeaderNames: [],
  pushRateLimitPerSecond: 0,
} as unknown as Subscription;

const delivery: Delivery = {
  ref: { queueId: 10n, leaseToken: 1n },
  ackId: "a",
  deliveryAttempt: 1,
  sizeBytes: 1,
  message: {
    id: 20n,
    topicId: 2n,
    publisherId: 4n,
    identifier: "",
    orderingKey: "",
    data: new Uint8Array([1]),
    attributes: {},
    createdAtMs: 0,
  },
};

/** A pusher over fakes whose single delivery's signing keys take `keysDelayMs` of (fake) time to load. */
function pusherWithSlowKeys(keysDelayMs: number, rate?: { limitPerSecond: number; firstSlotInMs: number }) {
  const clock = new FakeClock();
  const sent: WebhookRequest[] = [];
  let settled: (outcomes: readonly PushOutcome[]) => void = () => {};
  const outcomes = new Promise<readonly PushOutcome[]>((resolve) => {
    settled = resolve;
  });
  let claims = 0;
  const throttledMs: number[] = [];
  const pusher = new SubscriptionPusher(
    rate ? ({ ...subscription, pushRateLimitPerSecond: rate.limitPerSecond } as Subscription) : subscription,
    {
      deliveries: {
        claim: async () => (claims++ === 0 ? [delivery] : []),
        unclaim: async () => {},
      } as unknown as DeliveryService,
      settlement: {
        settle: async (_s: Subscription, batch: readonly PushOutcome[]) => {
          settled(batch);
          return null;
        },
      } as unknown as PushSettlement,
      client: {
        send: async (req: WebhookRequest) => {
          sent.push(req);
          return { status: 204, retryAfter: undefined, detail: "", blocked: false, durationMs: 1 };
        },
      } as unknown as WebhookClient,
      wakeups: new Wakeups(),
      limiter: new InflightLimiter(100),
      signingKeys: async () => {
        clock.advanceMs(keysDelayMs);
        return { current: "whsec_dGVzdA==", previous: null, previousExpiresAtMs: null };
      },
      authHeaders: async () => ({ authorization: "Bearer static" }),
      rateSlots: { reserve: async () => clock.nowMs() + (rate?.firstSlotInMs ?? 0) },
      onThrottled: (_s, waitedMs) => throttledMs.push(waitedMs),
      clock,
      logger: createJsonLogger("silent"),
      owner: "test",
      tuning: { timeoutMs: TIMEOUT_MS, windowMax: 8, pollMinMs: 5, pollMaxMs: 10 },
    },
  );
  return { pusher, sent, outcomes, throttledMs };
}

describe("SubscriptionPusher", () => {
  it("pushes a delivery whose lease outlasts its timeout by the settle margin", async () => {
    const { pusher, sent, outcomes } = pusherWithSlowKeys(0);
    pusher.start();
    const [outcome] = await outcomes;
    await pusher.stop(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.timeoutMs).toBe(TIMEOUT_MS);
    expect(sent[0]?.headers.authorization).toBe("Bearer static");
    expect(outcome?.verdict).toEqual({ kind: "ack" });
  });

  it("gives a delivery back unsent when too little of its lease is left to push it", async () => {
    // The lease is timeout + 15 s; after this delay less than timeout + the settle margin is left.
    const { pusher, sent, outcomes } = pusherWithSlowKeys(15_000 - SETTLE_MARGIN_MS + 1);
    pusher.start();
    const [outcome] = await outcomes;
    await pusher.stop(0);
    expect(sent).toEqual([]);
    expect(outcome).toMatchObject({ ref: delivery.ref, givenBack: true });
  });

  it("waits for its rate-limit slot without counting an attempt, then pushes", async () => {
    const { pusher, sent, outcomes, throttledMs } = pusherWithSlowKeys(0, {
      limitPerSecond: 10,
      firstSlotInMs: 30,
    });
    pusher.start();
    const [outcome] = await outcomes;
    await pusher.stop(0);
    expect(sent).toHaveLength(1);
    expect(throttledMs).toEqual([30]);
    expect(outcome?.verdict).toEqual({ kind: "ack" });
  });

  it("gives a delivery back unsent when its rate-limit slot comes too late for its lease", async () => {
    // The lease is timeout + 15 s; a slot 12 s away leaves less than timeout + the settle margin.
    const { pusher, sent, outcomes, throttledMs } = pusherWithSlowKeys(0, {
      limitPerSecond: 1,
      firstSlotInMs: 12_000,
    });
    pusher.start();
    const [outcome] = await outcomes;
    await pusher.stop(0);
    expect(sent).toEqual([]);
    expect(throttledMs).toEqual([]);
    expect(outcome).toMatchObject({ ref: delivery.ref, givenBack: true });
  });

  it("gives back, uncounted and at once, a push still waiting for its slot when the pusher stops", async () => {
    // A slot 5 s away still fits the 16 s lease, so the push sleeps for it (real time).
    const { pusher, sent, outcomes, throttledMs } = pusherWithSlowKeys(0, {
      limitPerSecond: 1,
      firstSlotInMs: 5_000,
    });
    pusher.start();
    await vi.waitFor(() => expect(pusher.isWaitingForSlot).toBe(true));
    const startedMs = performance.now();
    await pusher.stop(0);
    const [outcome] = await outcomes;
    // Woken by the stop, not by the 5 s timer (the test would time out first).
    expect(performance.now() - startedMs).toBeLessThan(4_000);
    expect(sent).toEqual([]);
    expect(throttledMs).toEqual([5_000]);
    expect(outcome).toMatchObject({ ref: delivery.ref, givenBack: true });
  });
});
