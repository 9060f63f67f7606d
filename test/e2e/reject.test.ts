/**
 * SubscriberService.Reject through the real server: a rejected delivery goes to the dead-letter
 * queue at once (reason REJECTED, the given text as last error) with delivery attempts left, and
 * replays from there; invalid ack ids and an over-long reason are reported, never applied.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { expectCode } from "../support/expect-error.js";
import { createFixture, text, untext } from "../support/fixtures.js";
import { createHeraldClients, type HeraldTestClients } from "../support/herald-clients.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("Reject on %s", (_k, target) => {
  let db: TestDatabase;
  let t: TestServer;
  let clients: HeraldTestClients;

  beforeAll(async () => {
    db = await target.create();
    t = await startTestServer(db);
    clients = createHeraldClients(t.server.url);
  });
  afterAll(async () => {
    await t?.stop();
    await db?.drop();
  });

  const pull = async (subscription: string) =>
    (await t.subscriber.pull({ subscription, maxMessages: 10 })).receivedMessages;

  it("dead-letters at once as REJECTED with the reason, and replays from the dead-letter queue", async () => {
    const f = await createFixture(t, { deliveryType: DeliveryType.PULL, maxDeliveryAttempts: 5 });
    const [poisonId, goodId] = await f.publish([{ data: text("poison") }, { data: text("good") }]);
    const first = await pull(f.subscription);
    const poison = first.find((m) => m.message?.messageId === poisonId);
    const good = first.find((m) => m.message?.messageId === goodId);

    const rejected = await t.subscriber.reject({
      subscription: f.subscription,
      ackIds: [poison?.ackId ?? "", "forged"],
      reason: "schema v1 is not supported",
    });
    expect(rejected.invalidAckIds).toEqual(["forged"]);
    // Rejecting again, or acking the rejected delivery, finds no lease.
    expect(
      (await t.subscriber.reject({ subscription: f.subscription, ackIds: [poison?.ackId ?? ""] }))
        .invalidAckIds,
    ).toEqual([poison?.ackId]);
    expect(
      (await t.subscriber.acknowledge({ subscription: f.subscription, ackIds: [poison?.ackId ?? ""] }))
        .invalidAckIds,
    ).toEqual([poison?.ackId]);
    await t.subscriber.acknowledge({ subscription: f.subscription, ackIds: [good?.ackId ?? ""] });

    const { deadLetters } = await clients.deadLetters.listDeadLetters({
      filter: { subscription: f.subscription, failureReason: "REJECTED" },
    });
    expect(deadLetters.map((d) => [d.messageId, d.failureReason, d.lastError, d.attemptCount])).toEqual([
      [poisonId, "REJECTED", "schema v1 is not supported", 1],
    ]);
    // Not redelivered: it left the subscription with four attempts to spare.
    expect(await pull(f.subscription)).toEqual([]);

    const replay = await clients.deadLetters.replayDeadLetters({ ids: deadLetters.map((d) => d.id) });
    expect(replay.replayedCount).toBe(1n);
    const again = await pull(f.subscription);
    expect(again.map((m) => [m.message?.messageId, untext(m.message?.data)])).toEqual([[poisonId, "poison"]]);
  });

  it("records 'rejected' when no reason is given and refuses a reason over 1024 bytes", async () => {
    const f = await createFixture(t, { deliveryType: DeliveryType.PULL });
    await f.publish([{ data: text("x") }]);
    const [delivery] = await pull(f.subscription);
    await expectCode(
      t.subscriber.reject({
        subscription: f.subscription,
        ackIds: [delivery?.ackId ?? ""],
        reason: "r".repeat(1025),
      }),
      Code.InvalidArgument,
      "reason",
    );
    await expectCode(
      t.subscriber.reject({ subscription: f.subscription, ackIds: [] }),
      Code.InvalidArgument,
      "ack_ids",
    );
    // The refused call changed nothing: the lease still holds and a plain Reject wins it.
    const ok = await t.subscriber.reject({ subscription: f.subscription, ackIds: [delivery?.ackId ?? ""] });
    expect(ok.invalidAckIds).toEqual([]);
    const { deadLetters } = await clients.deadLetters.listDeadLetters({
      filter: { subscription: f.subscription },
    });
    expect(deadLetters.map((d) => [d.failureReason, d.lastError])).toEqual([["REJECTED", "rejected"]]);
  });
});
