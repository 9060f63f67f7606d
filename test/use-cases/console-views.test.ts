/**
 * ConsoleViews over in-memory SQLite with a fake clock: the delivery-history window (every minute
 * present, ending with the current one) and the scoping of a subscriber key to its own subscriptions.
 */
import { describe, expect, it } from "vitest";
import { ConsoleViews } from "../../src/app/admin/console-views.js";
import { Inspection } from "../../src/app/admin/inspection.js";
import { SubscriptionAdmin } from "../../src/app/admin/subscription-admin.js";
import type { Principal } from "../../src/app/auth/principal.js";
import { DeadLetterAdmin } from "../../src/app/dead-letters/dead-letter-admin.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { createSubscriber, createSubscription, expectDomainError } from "../storage/conformance-setup.js";
import { NOW_MS, useWorld } from "./use-case-world.js";

const MINUTE_MS = 60_000;
const OPEN: Principal = { kind: "open" };

describe("ConsoleViews", () => {
  const world = useWorld();
  const views = () => {
    const { store, clock } = world();
    return new ConsoleViews(
      store,
      clock,
      new Inspection(store, clock),
      new SubscriptionAdmin(store, clock, { allowHttp: true }),
      new DeadLetterAdmin(store, clock),
    );
  };
  const logSent = (subscriptionId: bigint, subscriberId: bigint, createdAtMs: number) =>
    (world().store as KnexStore).knex("notification_logs").insert({
      subscription_id: subscriptionId,
      message_id: 1,
      identifier: "id",
      topic_code: "t",
      subscriber_type: "client",
      subscriber_id: subscriberId,
      delivery_method: "pull",
      status: "sent",
      created_at_ms: createdAtMs,
    });

  it("returns every minute of the window, ending with the current one, zeros where nothing was logged", async () => {
    const { store, topic, subscriber } = world();
    const sub = await createSubscription(store, { topicId: topic.id, subscriberId: subscriber.id });
    await logSent(sub.id, subscriber.id, NOW_MS - 2 * MINUTE_MS);
    await logSent(sub.id, subscriber.id, NOW_MS - 10 * MINUTE_MS);
    const minutes = await views().deliveryHistory(OPEN, "", 5);
    const currentMinute = NOW_MS - (NOW_MS % MINUTE_MS);
    expect(minutes.map((m) => m.minuteStartMs)).toEqual(
      [4, 3, 2, 1, 0].map((i) => currentMinute - i * MINUTE_MS),
    );
    expect(minutes.map((m) => m.sent)).toEqual([0, 0, 1, 0, 0]);
    expect(await views().deliveryHistory(OPEN, "", 0)).toHaveLength(60);
  });

  it("refuses a window longer than a day, naming minutes", async () => {
    const error = await expectDomainError(views().deliveryHistory(OPEN, "", 1441), {
      kind: "invalid_argument",
      reason: "INVALID_ARGUMENT",
    });
    expect(error.message).toMatch(/^minutes: /);
  });

  it("answers another subscriber's subscription NOT_FOUND to a subscriber key, like a missing one", async () => {
    const { store, topic, subscriber } = world();
    const other = await createSubscriber(store);
    const theirs = await createSubscription(store, { topicId: topic.id, subscriberId: other.id });
    const mine = await createSubscription(store, { topicId: topic.id, subscriberId: subscriber.id });
    await logSent(theirs.id, other.id, NOW_MS);
    const key: Principal = { kind: "subscriber", subscriberId: subscriber.id, keyPrefix: "hsk_test" };
    for (const name of [theirs.name, "no-such-subscription"]) {
      await expectDomainError(views().listDeliveries(key, name, "", 0, ""), {
        kind: "not_found",
        reason: "SUBSCRIPTION_NOT_FOUND",
      });
    }
    expect((await views().listSubscriptions(key, 0, "")).items.map((s) => s.subscription.name)).toEqual([
      mine.name,
    ]);
    // Without a subscription, a key's chart counts its own subscriber's deliveries only.
    const minutes = await views().deliveryHistory(key, "", 1);
    expect(minutes[0]?.sent).toBe(0);
    expect((await views().deliveryHistory(OPEN, "", 1))[0]?.sent).toBe(1);
  });
});
