/**
 * Exactly-once delivery (enable_exactly_once_delivery) through the real server, on SQLite and
 * MySQL: the setting through both APIs (refused with push), the official client's
 * ackWithResponse resolving for valid acks and rejecting with an invalid-ack-id AckError once the
 * lease expired and the message went to another stream, competing streams under redelivery
 * pressure never seeing a confirmed-acked message again, StreamingPull confirmations, unary
 * Pub/Sub per-ack-id ErrorInfo, and Herald's own API reporting the same per ack id.
 *
 * Leases expire on the server's clock: the tests run it ahead (ShiftedClock) instead of waiting.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AckError, AckResponses, type Message, type PubSub } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StreamingPullResponse, Subscriber } from "../../gen/google/pubsub/v1/pubsub_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import type { Clock } from "../../src/domain/clock.js";
import { expectCode } from "../support/expect-error.js";
import { createFixture, text } from "../support/fixtures.js";
import { PROJECT, pubsubClients } from "../support/pubsub-client.js";
import { until } from "../support/stream-reader.js";
import { requestChannel } from "../support/streaming-pull-requests.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** The wall clock, run ahead on demand: leases expire without the test waiting for them. */
class ShiftedClock implements Clock {
  private offsetMs = 0;
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
  advanceMs(ms: number): void {
    this.offsetMs += ms;
  }
}

/** Longer than any lease (ack deadlines are at most 600 s). */
const PAST_ANY_LEASE_MS = 601_000;
const P = `projects/${PROJECT}`;

async function ackErrorOf(ack: Promise<unknown>): Promise<AckError | undefined> {
  try {
    await ack;
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(AckError);
    return error as AckError;
  }
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "exactly-once delivery on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    const clock = new ShiftedClock();
    const clients = pubsubClients(() => t.server.url);
    let pubsub: PubSub;
    let subscriber: ReturnType<typeof createClient<typeof Subscriber>>;
    let names = 0;
    const unique = (base: string) => `${base}-${++names}-${Math.random().toString(36).slice(2, 7)}`;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, { pollMaxMs: 50, sweepIntervalMs: 100 }, { clock });
      pubsub = clients.create();
      const transport = createGrpcTransport({ baseUrl: t.server.url });
      subscriber = createClient(Subscriber, transport);
    });
    afterAll(async () => {
      await clients.closeAll();
      await t?.stop();
      await db?.drop();
    });

    /** A topic and an exactly-once subscription created with the official client. */
    async function exactlyOnceSubscription() {
      const [topic] = await pubsub.createTopic(unique("eod-topic"));
      const [subscription] = await topic.createSubscription(unique("eod-sub"), {
        enableExactlyOnceDelivery: true,
      });
      return { topic, subscription };
    }

    it("stores the setting, returns it from Get and List, updates it, and refuses it with push", async () => {
      const { topic, subscription } = await exactlyOnceSubscription();
      const [metadata] = await subscription.getMetadata();
      expect(metadata.enableExactlyOnceDelivery).toBe(true);
      const [listed] = await topic.getSubscriptions();
      expect(listed.map((s) => s.name)).toContain(subscription.name);
      const { subscription: herald } = await t.admin.getSubscription({
        name: subscription.name.split("/").pop() ?? "",
      });
      expect(herald?.enableExactlyOnceDelivery).toBe(true);

      await subscription.setMetadata({ enableExactlyOnceDelivery: false });
      expect((await subscription.getMetadata())[0].enableExactlyOnceDelivery).toBe(false);

      await expectCode(
        subscriber.createSubscription({
          name: `${P}/subscriptions/${unique("eod-push")}`,
          topic: topic.name,
          enableExactlyOnceDelivery: true,
          pushConfig: { pushEndpoint: "https://hooks.example.com/in" },
        }),
        Code.InvalidArgument,
        "enable_exactly_once_delivery",
      );
      // A pull subscription with exactly-once cannot be switched to push either.
      await subscription.setMetadata({ enableExactlyOnceDelivery: true });
      await expectCode(
        subscriber.modifyPushConfig({
          subscription: subscription.name,
          pushConfig: { pushEndpoint: "https://hooks.example.com/in" },
        }),
        Code.InvalidArgument,
        "enable_exactly_once_delivery",
      );
      const f = await createFixture(t, {
        deliveryType: DeliveryType.PULL,
        enableExactlyOnceDelivery: true,
      });
      expect(
        (await t.admin.getSubscription({ name: f.subscription })).subscription?.enableExactlyOnceDelivery,
      ).toBe(true);
    });

    it("resolves ackWithResponse for a valid ack, and rejects an ack whose lease expired and went to another stream", async () => {
      const { topic, subscription } = await exactlyOnceSubscription();
      await topic.publishMessage({ data: Buffer.from("first") });
      await topic.publishMessage({ data: Buffer.from("second") });

      // Stream A takes one message and holds it.
      const a = clients.create().subscription(subscription.name, { flowControl: { maxMessages: 1 } });
      const heldByA: Message[] = [];
      a.on("message", (m: Message) => heldByA.push(m));
      await until(() => heldByA.length === 1, 20_000, "stream A's message");
      const stale = heldByA[0] as Message;

      // The lease runs out; stream B gets the message again under a new lease.
      clock.advanceMs(PAST_ANY_LEASE_MS);
      const b = clients.create().subscription(subscription.name);
      const seenByB: Message[] = [];
      b.on("message", (m: Message) => seenByB.push(m));
      await until(() => seenByB.some((m) => m.id === stale.id), 20_000, "the redelivery to stream B");

      const error = await ackErrorOf(stale.ackWithResponse());
      expect(error?.errorCode).toBe(AckResponses.Invalid);
      for (const m of seenByB) expect(await m.ackWithResponse()).toBe(AckResponses.Success);
      await until(() => seenByB.length >= 2, 20_000, "both messages on B");
      for (const m of seenByB.slice(2)) await m.ackWithResponse().catch(() => undefined);
      const deliveredToB = seenByB.length;
      // Confirmed acks are final: past every lease, nothing comes again.
      clock.advanceMs(PAST_ANY_LEASE_MS);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seenByB).toHaveLength(deliveredToB);
      await Promise.all([a.close(), b.close()]);
      const stats = (await t.admin.getSubscriptionStats({ name: subscription.name.split("/").pop() ?? "" }))
        .stats;
      expect(stats?.backlog).toBe(0n);
      expect(stats?.inFlight).toBe(0n);
    });

    it("never redelivers a confirmed-acked message to competing streams whose leases keep expiring", async () => {
      const { topic, subscription } = await exactlyOnceSubscription();
      const total = 60;
      const published = await Promise.all(
        Array.from({ length: total }, (_, i) => topic.publishMessage({ data: Buffer.from(`m${i}`) })),
      );
      const deliveries = new Map<string, number>();
      const confirmedAtDelivery = new Map<string, number>();
      const redeliveredAfterConfirm: string[] = [];
      const invalidAcks: string[] = [];
      let deliveryCount = 0;
      const streams = [0, 1, 2].map(() =>
        clients.create().subscription(subscription.name, { flowControl: { maxMessages: 10 } }),
      );
      streams.forEach((stream, s) => {
        stream.on("message", (m: Message) => {
          deliveryCount += 1;
          deliveries.set(m.id, (deliveries.get(m.id) ?? 0) + 1);
          if (confirmedAtDelivery.has(m.id)) redeliveredAfterConfirm.push(m.id);
          // Each stream holds some messages past their lease before acking; the clock jumps
          // meanwhile, so those acks race redeliveries on the other streams.
          const holdMs = (deliveryCount + s) % 3 === 0 ? 1_500 : 0;
          setTimeout(() => {
            m.ackWithResponse().then(
              () => confirmedAtDelivery.set(m.id, deliveryCount),
              (error: unknown) => {
                // Only a lost lease fails an ack (never a valid ack batched with an invalid one).
                expect(error).toBeInstanceOf(AckError);
                expect((error as AckError).errorCode).toBe(AckResponses.Invalid);
                invalidAcks.push(m.id);
              },
            );
          }, holdMs);
        });
      });
      const pressure = leaseExpiryPressure(clock, 200);
      try {
        await until(() => confirmedAtDelivery.size === total, 60_000, "every message confirmed").catch(
          (error: unknown) => {
            throw new Error(
              `${String(error)}: ${confirmedAtDelivery.size} of ${total} confirmed after ${deliveryCount} deliveries, ${invalidAcks.length} invalid acks`,
            );
          },
        );
        const settledCount = deliveryCount;
        // Well past every lease again: a confirmed message never comes back.
        clock.advanceMs(PAST_ANY_LEASE_MS);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(deliveryCount).toBe(settledCount);
      } finally {
        pressure.stop();
        await Promise.all(streams.map((s) => s.close()));
      }
      expect(redeliveredAfterConfirm).toEqual([]);
      expect(new Set(confirmedAtDelivery.keys())).toEqual(new Set(published));
      // The pressure worked: some leases were lost and their acks reported invalid.
      expect(invalidAcks.length + [...deliveries.values()].filter((n) => n > 1).length).toBeGreaterThan(0);
    }, 90_000);

    it("confirms acks and deadline changes on StreamingPull, listing the invalid ids", async () => {
      const { topic, subscription } = await exactlyOnceSubscription();
      await topic.publishMessage({ data: Buffer.from("one") });
      await topic.publishMessage({ data: Buffer.from("two") });
      const requests = requestChannel();
      requests.send({ subscription: subscription.name, streamAckDeadlineSeconds: 60 });
      const received: StreamingPullResponse[] = [];
      const done = (async () => {
        for await (const r of subscriber.streamingPull(requests)) received.push(r);
      })();
      const messages = () => received.flatMap((r) => r.receivedMessages);
      await until(() => messages().length === 2, 20_000, "two messages");
      expect(received[0]?.subscriptionProperties?.exactlyOnceDeliveryEnabled).toBe(true);
      const [one, two] = messages();
      const forged = "A".repeat(43);

      requests.send({ modifyDeadlineAckIds: [two?.ackId ?? "", forged], modifyDeadlineSeconds: [30, 30] });
      await until(() => received.some((r) => r.modifyAckDeadlineConfirmation), 20_000, "modack confirmation");
      expect(
        received.find((r) => r.modifyAckDeadlineConfirmation)?.modifyAckDeadlineConfirmation,
      ).toMatchObject({
        ackIds: [two?.ackId],
        invalidAckIds: [forged],
        temporaryFailedAckIds: [],
      });

      requests.send({ ackIds: [one?.ackId ?? "", forged] });
      await until(() => received.some((r) => r.acknowledgeConfirmation), 20_000, "ack confirmation");
      expect(received.find((r) => r.acknowledgeConfirmation)?.acknowledgeConfirmation).toMatchObject({
        ackIds: [one?.ackId],
        invalidAckIds: [forged],
      });
      requests.send({ ackIds: [two?.ackId ?? ""] });
      await until(() => received.filter((r) => r.acknowledgeConfirmation).length === 2, 20_000, "second ack");
      requests.end();
      await done;
    });

    it("fails unary Acknowledge and ModifyAckDeadline with Pub/Sub's per-ack-id ErrorInfo", async () => {
      const { topic, subscription } = await exactlyOnceSubscription();
      await topic.publishMessage({ data: Buffer.from("x") });
      const { receivedMessages } = await subscriber.pull({ subscription: subscription.name, maxMessages: 1 });
      const ackId = receivedMessages[0]?.ackId ?? "";
      clock.advanceMs(PAST_ANY_LEASE_MS);
      const again = await subscriber.pull({ subscription: subscription.name, maxMessages: 1 });
      expect(again.receivedMessages[0]?.message?.messageId).toBe(receivedMessages[0]?.message?.messageId);

      for (const call of [
        () => subscriber.acknowledge({ subscription: subscription.name, ackIds: [ackId] }),
        () =>
          subscriber.modifyAckDeadline({
            subscription: subscription.name,
            ackIds: [ackId],
            ackDeadlineSeconds: 30,
          }),
      ]) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        expect(error?.code).toBe(Code.InvalidArgument);
        const [info] = error?.findDetails(ErrorInfoSchema) ?? [];
        expect(info?.reason).toBe("EXACTLY_ONCE_ACKID_FAILURE");
        expect(info?.metadata).toEqual({ [ackId]: "PERMANENT_FAILURE_INVALID_ACK_ID" });
      }
      // A valid ack beside an invalid one takes effect; the call is ABORTED (transient for the
      // clients) listing only the invalid id, and acking the valid one again is confirmed.
      const current = again.receivedMessages[0]?.ackId ?? "";
      const mixed = await subscriber
        .acknowledge({ subscription: subscription.name, ackIds: [current, ackId] })
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(mixed?.code).toBe(Code.Aborted);
      expect(mixed?.findDetails(ErrorInfoSchema)[0]?.metadata).toEqual({
        [ackId]: "PERMANENT_FAILURE_INVALID_ACK_ID",
      });
      await subscriber.acknowledge({ subscription: subscription.name, ackIds: [current] });
      // Many invalid ids: the trailer lists a bounded number, the rest are to be sent again.
      const forged = Array.from({ length: 2_000 }, (_, i) => `forged-${i}`.padEnd(43, "x"));
      const many = await subscriber.acknowledge({ subscription: subscription.name, ackIds: forged }).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(many?.code).toBe(Code.Aborted);
      expect(Object.keys(many?.findDetails(ErrorInfoSchema)[0]?.metadata ?? {})).toHaveLength(300);
      const stats = (await t.admin.getSubscriptionStats({ name: subscription.name.split("/").pop() ?? "" }))
        .stats;
      expect(stats?.inFlight).toBe(0n);
      expect(stats?.backlog).toBe(0n);
    });

    it("reports invalid ack ids through Herald's API and never redelivers a confirmed ack", async () => {
      const f = await createFixture(t, { deliveryType: DeliveryType.PULL, enableExactlyOnceDelivery: true });
      await f.publish([{ data: text("a") }, { data: text("b") }]);
      const first = await t.subscriber.pull({ subscription: f.subscription, maxMessages: 2 });
      expect(first.receivedMessages).toHaveLength(2);
      const [a, b] = first.receivedMessages;
      const acked = await t.subscriber.acknowledge({
        subscription: f.subscription,
        ackIds: [a?.ackId ?? ""],
      });
      expect(acked.invalidAckIds).toEqual([]);

      // Past the lease and the retry backoff that follows its expiry.
      let second = await t.subscriber.pull({ subscription: f.subscription, maxMessages: 2 });
      for (let i = 0; i < 50 && second.receivedMessages.length === 0; i += 1) {
        clock.advanceMs(PAST_ANY_LEASE_MS);
        await new Promise((resolve) => setTimeout(resolve, 100));
        second = await t.subscriber.pull({ subscription: f.subscription, maxMessages: 2 });
      }
      expect(second.receivedMessages.map((m) => m.message?.messageId)).toEqual([b?.message?.messageId]);
      const stale = await t.subscriber.acknowledge({
        subscription: f.subscription,
        ackIds: [b?.ackId ?? ""],
      });
      expect(stale.invalidAckIds).toEqual([b?.ackId]);
      const modified = await t.subscriber.modifyAckDeadline({
        subscription: f.subscription,
        ackIds: [b?.ackId ?? ""],
        ackDeadlineSeconds: 30,
      });
      expect(modified.invalidAckIds).toEqual([b?.ackId]);
      const current = second.receivedMessages[0]?.ackId ?? "";
      expect(
        (await t.subscriber.acknowledge({ subscription: f.subscription, ackIds: [current] })).invalidAckIds,
      ).toEqual([]);
      clock.advanceMs(PAST_ANY_LEASE_MS);
      expect(
        (await t.subscriber.pull({ subscription: f.subscription, maxMessages: 2 })).receivedMessages,
      ).toEqual([]);
    });
    it("never redelivers a message whose ack Herald's API confirmed, across competing Subscribe streams", async () => {
      const f = await createFixture(t, {
        deliveryType: DeliveryType.PULL,
        enableExactlyOnceDelivery: true,
        minBackoff: { seconds: 0n },
        maxBackoff: { seconds: 0n },
        // The clock runs days ahead meanwhile: neither attempts nor the TTL may dead-letter a message.
        maxDeliveryAttempts: 100,
        messageTtl: { seconds: BigInt(31 * 24 * 3600) },
      });
      const total = 40;
      await f.publish(Array.from({ length: total }, (_, i) => ({ data: text(`h${i}`) })));
      const confirmed = new Set<string>();
      const redeliveredAfterConfirm: string[] = [];
      let invalid = 0;
      let deliveries = 0;
      const controller = new AbortController();
      const consume = async (stream: number) => {
        const responses = t.subscriber.subscribe(
          { subscription: f.subscription, maxOutstandingMessages: 10, ackDeadlineSeconds: 10 },
          { signal: controller.signal },
        );
        try {
          for await (const { receivedMessages } of responses) {
            for (const m of receivedMessages) {
              deliveries += 1;
              const id = m.message?.messageId ?? "";
              if (confirmed.has(id)) redeliveredAfterConfirm.push(id);
              // Every third delivery is acked late, after the clock ran past its lease.
              const holdMs = (deliveries + stream) % 3 === 0 ? 1_000 : 0;
              setTimeout(() => {
                void t.subscriber
                  .acknowledge({ subscription: f.subscription, ackIds: [m.ackId] })
                  .then(({ invalidAckIds }) => {
                    if (invalidAckIds.length === 0) confirmed.add(id);
                    else invalid += 1;
                  });
              }, holdMs);
            }
          }
        } catch (error) {
          if (!controller.signal.aborted) throw error;
        }
      };
      const streams = [consume(0), consume(1)];
      const pressure = leaseExpiryPressure(clock, 150);
      try {
        await until(() => confirmed.size === total, 60_000, "every message confirmed");
        const settled = deliveries;
        // Past every lease again: a confirmed message never comes back.
        clock.advanceMs(PAST_ANY_LEASE_MS);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(deliveries).toBe(settled);
      } finally {
        pressure.stop();
        controller.abort();
        await Promise.all(streams);
      }
      expect(redeliveredAfterConfirm).toEqual([]);
      expect(invalid).toBeGreaterThan(0);
    }, 90_000);
  },
);

/** Clock jumps past every lease: enough of them to make acks race redeliveries. */
const PRESSURE_JUMPS = 20;

/**
 * Moves the server's clock past every lease every `everyMs`, PRESSURE_JUMPS times, then stops.
 * Unbounded, a loaded machine whose ack round trip outlasts `everyMs` could lose every lease of a
 * message forever, and the test would time out on liveness it does not claim to check; once the
 * jumps stop, the holders' acks succeed and every message settles.
 */
function leaseExpiryPressure(clock: { advanceMs(ms: number): void }, everyMs: number): { stop(): void } {
  let jumps = 0;
  const timer = setInterval(() => {
    jumps += 1;
    clock.advanceMs(PAST_ANY_LEASE_MS);
    if (jumps >= PRESSURE_JUMPS) clearInterval(timer);
  }, everyMs);
  return { stop: () => clearInterval(timer) };
}
