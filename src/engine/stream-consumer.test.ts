import { setImmediate as nextTurn } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { AckRef } from "../app/consume/ack-id.js";
import { takeWithinBudget } from "../app/consume/claim-budget.js";
import type {
  ClaimOptions,
  ClaimResult,
  Delivery,
  DeliveryService,
} from "../app/consume/delivery-service.js";
import { type DirectTaker, DirectTakers } from "../app/consume/direct-takers.js";
import type { Subscription } from "../domain/subscription.js";
import { IdlePoller } from "./idle-poller.js";
import { LeaseRegistry } from "./lease-registry.js";
import { streamDeliveries } from "./stream-consumer.js";
import { Wakeups } from "./wakeups.js";

const subscription = { id: 7n, topicId: 3n, enableOrdering: false } as Subscription;

/** A queue of ready messages behind the DeliveryService calls a stream makes; counts claims. */
function fakeDeliveries(sizes: number[]) {
  const ready: Delivery[] = sizes.map((sizeBytes, i) => ({
    ref: { queueId: BigInt(i + 1), leaseToken: 1n },
    ackId: `ack-${i + 1}`,
    deliveryAttempt: 1,
    message: {} as Delivery["message"],
    sizeBytes,
  }));
  const calls = { claims: 0, probes: 0 };
  const service = {
    async claimWithin(_s: Subscription, options: ClaimOptions): Promise<ClaimResult> {
      calls.claims += 1;
      const { taken, heldBackSizeBytes } = takeWithinBudget(ready.slice(0, options.max), {
        maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY,
        firstMaxBytes: options.firstMaxBytes ?? Number.POSITIVE_INFINITY,
      });
      ready.splice(0, taken.length);
      return { deliveries: taken, heldBackSizeBytes };
    },
    async stillLeased(refs: readonly AckRef[]) {
      return [...refs];
    },
    async release() {},
    async handedOver(_s: Subscription, handed: Delivery[]) {
      return handed;
    },
  };
  const publish = (sizeBytes: number) =>
    ready.push({
      ref: { queueId: BigInt(ready.length + 100), leaseToken: 1n },
      ackId: "late",
      deliveryAttempt: 1,
      message: {} as Delivery["message"],
      sizeBytes,
    });
  return { service: service as unknown as DeliveryService, calls, publish };
}

/** Lets the event loop run `turns` times: a spinning stream would claim on every one of them. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await nextTurn();
}

describe("streamDeliveries", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  function open(sizes: number[], maxOutstandingBytes: number, takers?: DirectTakers) {
    const fake = fakeDeliveries(sizes);
    const wakeups = new Wakeups();
    const registry = new LeaseRegistry();
    const client = new AbortController();
    const stop = new AbortController();
    const idle = new IdlePoller({
      probe: async () => {
        fake.calls.probes += 1;
        return undefined;
      },
      wakeups,
      pollMs: 3_600_000,
    });
    const stream = streamDeliveries(
      subscription,
      { maxOutstandingMessages: 1000, maxOutstandingBytes, leaseMs: 60_000 },
      client.signal,
      {
        deliveries: fake.service,
        wakeups,
        idle,
        registry,
        owner: "test",
        // Lease checks never come due here: only an ack can free room.
        tuning: { claimBatchMax: 500, claimMaxBytes: 1 << 20, leaseCheckMs: 3_600_000 },
        stopSignal: stop.signal,
        ...(takers ? { takers } : {}),
      },
    );
    cleanups.push(async () => {
      client.abort();
      idle.stop();
      await stream.return(undefined);
    });
    return { stream, fake, registry, wakeups, client };
  }

  it("waits for an ack when the next message does not fit the bytes left, claiming nothing meanwhile", async () => {
    const { stream, fake, registry } = open([100, 100, 100], 150);
    const first = await stream.next();
    expect(first.value).toHaveLength(1);
    expect(fake.calls.claims).toBe(1);

    let second: IteratorResult<Delivery[]> | undefined;
    void stream.next().then((r) => {
      second = r;
    });
    await turns(200);
    // No empty batch and no claim while the 50 bytes left cannot take a 100-byte message.
    expect(second).toBeUndefined();
    expect(fake.calls.claims).toBe(1);

    registry.settled([(first.value as Delivery[])[0]?.ref as AckRef]);
    await turns(20);
    expect(second?.value).toHaveLength(1);
    expect(fake.calls.claims).toBe(2);
  });

  it("lets a message larger than the whole budget through alone when nothing is outstanding", async () => {
    const { stream, fake } = open([500, 10], 150);
    const first = await stream.next();
    expect((first.value as Delivery[]).map((d) => d.sizeBytes)).toEqual([500]);
    expect(fake.calls.claims).toBe(1);
  });

  it("sleeps when idle until a wakeup, instead of claiming on a timer", async () => {
    const { stream, fake, wakeups } = open([], 1000);
    let got: IteratorResult<Delivery[]> | undefined;
    void stream.next().then((r) => {
      got = r;
    });
    await turns(200);
    expect(fake.calls.claims).toBe(1);
    expect(got).toBeUndefined();

    fake.publish(10);
    wakeups.notifyTopic(subscription.topicId);
    await turns(20);
    expect(got?.value).toHaveLength(1);
    expect(fake.calls.claims).toBe(2);
  });

  describe("with deliveries handed over from a local publish's commit", () => {
    const handed = (id: number, sizeBytes = 10): Delivery => ({
      ref: { queueId: BigInt(id), leaseToken: 1n },
      ackId: `handed-${id}`,
      deliveryAttempt: 1,
      message: {} as Delivery["message"],
      sizeBytes,
    });

    async function waitingTaker(takers: DirectTakers): Promise<DirectTaker> {
      for (let i = 0; i < 100; i++) {
        const [taker] = takers.roomiestPerSubscription(subscription.topicId);
        if (taker) return taker;
        await nextTurn();
      }
      throw new Error("the stream never offered its room");
    }

    it("yields what a publish handed over without claiming, and goes back to waiting", async () => {
      const takers = new DirectTakers();
      const { stream, fake } = open([], 1000, takers);
      let got: IteratorResult<Delivery[]> | undefined;
      void stream.next().then((r) => {
        got = r;
      });
      const taker = await waitingTaker(takers);
      expect(fake.calls.claims).toBe(1);
      expect(taker.room()).toEqual({ messages: 500, bytes: 1000 });

      const promised = { messages: 2, bytes: 20 };
      taker.promise(promised);
      expect(taker.room()).toEqual({ messages: 500, bytes: 980 });
      expect(taker.settle(promised, [handed(1), handed(2)])).toBe(true);
      await turns(20);
      expect((got?.value as Delivery[] | undefined)?.map((d) => d.ref.queueId)).toEqual([1n, 2n]);

      void stream.next();
      await turns(200);
      // Still one claim: the hand-off did not send the stream to the database.
      expect(fake.calls.claims).toBe(1);
      expect(takers.roomiestPerSubscription(subscription.topicId)).toEqual([taker]);
      // What it holds counts against its room.
      expect(taker.room()).toEqual({ messages: 500, bytes: 980 });
    });

    it("counts promised room as outstanding, so a claim meanwhile cannot overfill the stream", async () => {
      const takers = new DirectTakers();
      const { stream, fake, wakeups } = open([], 100, takers);
      let got: IteratorResult<Delivery[]> | undefined;
      void stream.next().then((r) => {
        got = r;
      });
      const taker = await waitingTaker(takers);
      const promised = { messages: 1, bytes: 90 };
      taker.promise(promised);
      fake.publish(50);
      wakeups.notifyTopic(subscription.topicId);
      await turns(200);
      // 10 bytes left: the 50-byte message waits while the promise is open.
      expect(got).toBeUndefined();
      taker.settle(promised, []);
      await turns(50);
      expect((got?.value as Delivery[] | undefined)?.map((d) => d.sizeBytes)).toEqual([50]);
    });

    it("refuses a hand-off once the stream has ended, so the publisher gives the leases back", async () => {
      const takers = new DirectTakers();
      const { stream, client } = open([], 1000, takers);
      const pending = stream.next();
      const taker = await waitingTaker(takers);
      const promised = { messages: 1, bytes: 10 };
      taker.promise(promised);
      client.abort();
      expect((await pending).done).toBe(true);
      expect(taker.settle(promised, [handed(9)])).toBe(false);
      expect(takers.roomiestPerSubscription(subscription.topicId)).toEqual([]);
    });

    it("leaves the other subscriptions' waits alone when a publish served this one", async () => {
      const takers = new DirectTakers();
      const { stream, fake, wakeups } = open([], 1000, takers);
      void stream.next();
      await waitingTaker(takers);
      wakeups.notifyTopic(subscription.topicId, new Set([subscription.id]));
      await turns(100);
      expect(fake.calls.claims).toBe(1);
      wakeups.notifyTopic(subscription.topicId, new Set([subscription.id + 1n]));
      await turns(100);
      expect(fake.calls.claims).toBe(2);
    });
  });
});
