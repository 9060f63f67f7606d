/** The Publish use case (PublishMessages) over in-memory SQLite, driven by a fake clock. */
import { describe, expect, it } from "vitest";
import { createSubscription } from "../storage/conformance-setup.js";
import {
  DEDUP_WINDOW_MS,
  outgoing,
  publish,
  pullClaim,
  subscribe,
  text,
  type UseCaseWorld,
  useWorld,
} from "./use-case-world.js";

async function subscriptionIdsOf(w: UseCaseWorld, messageId: bigint | undefined): Promise<bigint[]> {
  const rows = await w.store.repos.queue.listByMessage(messageId as bigint);
  return rows.map((r) => r.subscriptionId).sort();
}

describe("publish use case", () => {
  const world = useWorld();

  it("fans a message out to every subscription of its topic", async () => {
    const w = world();
    const first = await subscribe(w);
    const second = await subscribe(w, { deliveryType: "push" });

    const [messageId] = await publish(w, outgoing("to all"));

    expect(await subscriptionIdsOf(w, messageId)).toEqual([first.id, second.id].sort());
  });

  it("fans a message out only to the subscriptions whose identifier filter matches it", async () => {
    const w = world();
    const everything = await subscribe(w, { identifierFilter: "" });
    const orders = await subscribe(w, { identifierFilter: "orders.*" });
    await subscribe(w, { identifierFilter: "invoices.*" });
    await subscribe(w, { identifierFilter: "orders.created" });

    const [messageId] = await publish(w, outgoing("order", { identifier: "orders.updated" }));

    expect(await subscriptionIdsOf(w, messageId)).toEqual([everything.id, orders.id].sort());
  });

  it("fans a message out only to the subscriptions whose attribute filter matches it", async () => {
    const w = world();
    const red = await subscribe(w, { attributeFilter: 'attributes.color = "red"' });
    await subscribe(w, { attributeFilter: 'attributes.color = "blue"' });

    const [messageId] = await publish(w, outgoing("paint", { attributes: { color: "red" } }));

    expect(await subscriptionIdsOf(w, messageId)).toEqual([red.id]);
  });

  it("does not fan a message out to a subscription of another topic", async () => {
    const w = world();
    const mine = await subscribe(w);
    const otherTopic = await w.store.repos.topics.insert(
      { code: "other-topic", name: "Other", description: "" },
      w.clock.nowMs(),
    );
    await createSubscription(
      w.store,
      { topicId: otherTopic.id, subscriberId: w.subscriber.id },
      w.clock.nowMs(),
    );

    const [messageId] = await publish(w, outgoing("mine only"));

    expect(await subscriptionIdsOf(w, messageId)).toEqual([mine.id]);
  });

  it("returns the original message id for a dedup id published again within the window", async () => {
    const w = world();
    const subscription = await subscribe(w);
    const [original] = await publish(w, outgoing("first", { dedupId: "d-1" }));

    w.clock.advanceMs(DEDUP_WINDOW_MS - 1);
    const [repeat] = await publish(w, outgoing("second", { dedupId: "d-1" }));

    expect(repeat).toBe(original);
    expect(await w.delivery.claim(subscription, pullClaim())).toHaveLength(1);
  });

  it("stores a new message for a dedup id published again after the window", async () => {
    const w = world();
    const subscription = await subscribe(w);
    const [original] = await publish(w, outgoing("first", { dedupId: "d-1" }));

    w.clock.advanceMs(DEDUP_WINDOW_MS + 1);
    const [later] = await publish(w, outgoing("second", { dedupId: "d-1" }));

    expect(later).not.toBe(original);
    const claimed = await w.delivery.claim(subscription, pullClaim());
    expect(claimed.map((d) => text(d.message.data))).toEqual(["first", "second"]);
  });

  it("gives a repeated dedup id within one request the id of its first occurrence", async () => {
    const w = world();
    const ids = await publish(w, outgoing("a", { dedupId: "same" }), outgoing("b", { dedupId: "same" }));

    expect(ids[1]).toBe(ids[0]);
  });

  it("keeps the ordering key of a message and delivers a key's messages in publish order", async () => {
    const w = world();
    const subscription = await subscribe(w, { enableOrdering: true });
    await publish(w, outgoing("k-1", { orderingKey: "k" }));
    await publish(w, outgoing("k-2", { orderingKey: "k" }));

    const received: string[] = [];
    for (;;) {
      const [delivery] = await w.delivery.claim(subscription, pullClaim());
      if (!delivery) break;
      expect(delivery.message.orderingKey).toBe("k");
      received.push(text(delivery.message.data));
      await w.delivery.acknowledge(subscription, [delivery.ackId]);
    }
    expect(received).toEqual(["k-1", "k-2"]);
  });

  it("stores the message with its data, attributes, identifier and publish time", async () => {
    const w = world();
    const [messageId] = await publish(
      w,
      outgoing("payload", { attributes: { a: "1" }, identifier: "orders.created", orderingKey: "k" }),
    );

    const stored = await w.store.repos.messages.findById(messageId as bigint);
    expect({
      data: text(stored?.data ?? new Uint8Array()),
      attributes: stored?.attributes,
      identifier: stored?.identifier,
      orderingKey: stored?.orderingKey,
      createdAtMs: stored?.createdAtMs,
    }).toEqual({
      data: "payload",
      attributes: { a: "1" },
      identifier: "orders.created",
      orderingKey: "k",
      createdAtMs: w.clock.nowMs(),
    });
  });
});
