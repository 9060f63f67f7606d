/**
 * Snapshots through the real server: with the official @google-cloud/pubsub client
 * (subscription.createSnapshot, snapshot.seek(), subscription.seek(snapshotName), getSnapshots,
 * snapshot.delete) and the generated google.pubsub.v1 client (GetSnapshot, UpdateSnapshot,
 * ListTopicSnapshots), and with Herald's own API (CreateSnapshot … SeekSubscription{snapshot}).
 * "A snapshot restores exactly its state": publish, ack some, snapshot, ack the rest and publish
 * more, seek to the snapshot → exactly the unacked-at-snapshot and later-published messages come
 * back. The server runs on a fake clock (which leases never outlive here) so the last case can move
 * past a snapshot's expiry and see NOT_FOUND.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Publisher, Subscriber } from "../../gen/google/pubsub/v1/pubsub_pb.js";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { FakeClock } from "../../src/domain/clock.js";
import { expectCode } from "../support/expect-error.js";
import { createFixture, text, untext } from "../support/fixtures.js";
import { PROJECT, pubsubClients, receiveAll } from "../support/pubsub-client.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const P = `projects/${PROJECT}`;
const HOUR_MS = 3_600_000;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("Snapshots on %s", (_k, target) => {
  let db: TestDatabase;
  let t: TestServer;
  const clock = new FakeClock(Date.now());
  const clients = pubsubClients(() => t.server.url);
  const rawPubsub = () => {
    const transport = createGrpcTransport({ baseUrl: t.server.url });
    return { publisher: createClient(Publisher, transport), subscriber: createClient(Subscriber, transport) };
  };

  beforeAll(async () => {
    db = await target.create();
    t = await startTestServer(db, { pollMaxMs: 50 }, { clock });
  });
  afterEach(async () => {
    await clients.closeAll();
  });
  afterAll(async () => {
    await clients.closeAll();
    await t?.stop();
    await db?.drop();
  });

  /** Pulls (Herald's API) everything available and acks those whose text is in `toAck`. */
  async function pullAndAck(subscription: string, toAck: readonly string[]): Promise<string[]> {
    const pulled = (await t.subscriber.pull({ subscription, maxMessages: 100 })).receivedMessages;
    const ackIds = pulled.filter((m) => toAck.includes(untext(m.message?.data))).map((m) => m.ackId);
    if (ackIds.length > 0) await t.subscriber.acknowledge({ subscription, ackIds });
    return pulled.map((m) => untext(m.message?.data)).sort();
  }

  const backlog = async (name: string) =>
    (await t.admin.getSubscriptionStats({ name })).stats?.backlog ?? -1n;

  it("restores exactly the snapshot's state with the official client, and lists, gets, updates and deletes it", async () => {
    const pubsub = clients.create();
    const [topic] = await pubsub.createTopic("snap-orders");
    const [sub] = await topic.createSubscription("snap-orders-worker");
    for (const data of ["m1", "m2", "m3", "m4", "m5"])
      await topic.publishMessage({ data: Buffer.from(data) });
    // m1 and m2 acked; m3 to m5 stay unacked (leased).
    expect(await pullAndAck("snap-orders-worker", ["m1", "m2"])).toEqual(["m1", "m2", "m3", "m4", "m5"]);

    const [snapshot] = await sub.createSnapshot("snap-orders-before");
    expect(snapshot.name).toBe(`${P}/snapshots/snap-orders-before`);

    // After the snapshot: m3..m5 acked, m6 and m7 published and acked.
    await sub.seek(new Date(clock.nowMs() + 1000)); // acks everything outstanding, as Pub/Sub's seek(now)
    for (const data of ["m6", "m7"]) await topic.publishMessage({ data: Buffer.from(data) });
    expect(await pullAndAck("snap-orders-worker", ["m6", "m7"])).toEqual(["m6", "m7"]);
    expect(await backlog("snap-orders-worker")).toBe(0n);

    await snapshot.seek();
    expect(await backlog("snap-orders-worker")).toBe(5n);
    expect(await receiveAll(pubsub.subscription("snap-orders-worker"), 5)).toEqual([
      "m3",
      "m4",
      "m5",
      "m6",
      "m7",
    ]);
    expect(await backlog("snap-orders-worker")).toBe(0n);

    // subscription.seek(snapshotName) does the same, again.
    await pubsub.subscription("snap-orders-worker").seek("snap-orders-before");
    expect(await backlog("snap-orders-worker")).toBe(5n);
    await sub.seek(new Date(clock.nowMs() + 1000));

    const [listed] = await pubsub.getSnapshots();
    expect(listed.map((s) => s.name)).toContain(`${P}/snapshots/snap-orders-before`);
    const raw = rawPubsub();
    const got = await raw.subscriber.getSnapshot({ snapshot: `${P}/snapshots/snap-orders-before` });
    expect(got.topic).toBe(`${P}/topics/snap-orders`);
    expect(Number(got.expireTime?.seconds)).toBeGreaterThan(clock.nowMs() / 1000);
    const updated = await raw.subscriber.updateSnapshot({
      snapshot: { name: `${P}/snapshots/snap-orders-before`, labels: { team: "orders" } },
      updateMask: { paths: ["labels"] },
    });
    expect(updated.labels).toEqual({ team: "orders" });
    const topicSnapshots = await raw.publisher.listTopicSnapshots({ topic: `${P}/topics/snap-orders` });
    expect(topicSnapshots.snapshots).toEqual([`${P}/snapshots/snap-orders-before`]);

    await snapshot.delete();
    await expect(
      raw.subscriber.getSnapshot({ snapshot: `${P}/snapshots/snap-orders-before` }),
    ).rejects.toMatchObject({ code: Code.NotFound });
    await expect(snapshot.seek()).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("refuses to seek a subscription of another topic to a snapshot, and bad names", async () => {
    const pubsub = clients.create();
    const [a] = await pubsub.createTopic("snap-a");
    const [b] = await pubsub.createTopic("snap-b");
    const [subA] = await a.createSubscription("snap-a-sub");
    const [subB] = await b.createSubscription("snap-b-sub");
    await subA.createSnapshot("snap-of-a");
    await expect(subB.seek("snap-of-a")).rejects.toMatchObject({ code: Code.FailedPrecondition });
    await expect(subA.createSnapshot("snap-of-a")).rejects.toMatchObject({ code: Code.AlreadyExists });
    const raw = rawPubsub();
    await expect(
      raw.subscriber.createSnapshot({ name: `${P}/topics/x`, subscription: `${P}/subscriptions/snap-a-sub` }),
    ).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(
      raw.subscriber.updateSnapshot({
        snapshot: { name: `${P}/snapshots/snap-of-a` },
        updateMask: { paths: ["topic"] },
      }),
    ).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("creates, seeks to, lists, updates and deletes snapshots through Herald's API", async () => {
    const f = await createFixture(t, { deliveryType: DeliveryType.PULL });
    await f.publish([{ data: text("one") }, { data: text("two") }, { data: text("three") }]);
    expect(await pullAndAck(f.subscription, ["one"])).toEqual(["one", "three", "two"]);
    const stale = (await t.subscriber.pull({ subscription: f.subscription, maxMessages: 10 }))
      .receivedMessages;
    expect(stale).toHaveLength(0);

    const name = `${f.subscription}-snap`;
    const { snapshot } = await t.admin.createSnapshot({
      name,
      subscription: f.subscription,
      labels: { env: "ci" },
    });
    expect(snapshot).toMatchObject({
      name,
      topic: f.topic,
      sourceSubscription: f.subscription,
      labels: { env: "ci" },
    });

    await t.admin.seekSubscription({ name: f.subscription, time: timestampFromMs(clock.nowMs() + 1000) });
    await f.publish([{ data: text("four") }]);
    expect(await backlog(f.subscription)).toBe(1n);

    const result = await t.admin.seekSubscription({ name: f.subscription, snapshot: name });
    expect([result.ackedCount, result.requeuedCount, result.replayedCount]).toEqual([0n, 2n, 0n]);
    expect(await pullAndAck(f.subscription, ["two", "three", "four"])).toEqual(["four", "three", "two"]);

    const listed = await t.admin.listSnapshots({ topic: f.topic, pageSize: 10 });
    expect(listed.snapshots.map((s) => s.name)).toEqual([name]);
    const updated = await t.admin.updateSnapshot({
      name,
      expireTime: timestampFromMs(clock.nowMs() + 2 * HOUR_MS),
      updateMask: { paths: ["expire_time"] },
    });
    expect(Number(updated.snapshot?.expireTime?.seconds)).toBe(
      Math.floor((clock.nowMs() + 2 * HOUR_MS) / 1000),
    );

    await expectCode(
      t.admin.seekSubscription({ name: f.subscription, snapshot: name, time: timestampFromMs(0) }),
      Code.InvalidArgument,
      "snapshot",
    );
    await expectCode(t.admin.seekSubscription({ name: f.subscription }), Code.InvalidArgument, "time");
    await expectCode(t.admin.getSnapshot({ name: "no-such-snapshot" }), Code.NotFound);
    await expectCode(
      t.admin.createSnapshot({ name: "bad name", subscription: f.subscription }),
      Code.InvalidArgument,
      "name",
    );
    await t.admin.deleteSnapshot({ name });
    await expectCode(t.admin.getSnapshot({ name }), Code.NotFound);
  });

  // Last: it moves the server's clock.
  it("answers NOT_FOUND for an expired snapshot and prunes it", async () => {
    const f = await createFixture(t, { deliveryType: DeliveryType.PULL });
    await f.publish([{ data: text("x") }]);
    const name = `${f.subscription}-expiring`;
    await t.admin.createSnapshot({ name, subscription: f.subscription });
    await t.admin.updateSnapshot({
      name,
      expireTime: timestampFromMs(clock.nowMs() + HOUR_MS),
      updateMask: { paths: ["expire_time"] },
    });
    const raw = rawPubsub();
    expect((await raw.subscriber.getSnapshot({ snapshot: `${P}/snapshots/${name}` })).name).toBe(
      `${P}/snapshots/${name}`,
    );

    clock.advanceMs(HOUR_MS);
    await expectCode(t.admin.getSnapshot({ name }), Code.NotFound);
    await expect(raw.subscriber.getSnapshot({ snapshot: `${P}/snapshots/${name}` })).rejects.toMatchObject({
      code: Code.NotFound,
    });
    await expectCode(t.admin.seekSubscription({ name: f.subscription, snapshot: name }), Code.NotFound);
    expect((await t.admin.listSnapshots({ topic: f.topic })).snapshots).toEqual([]);
    expect((await t.server.pruneNow()).snapshots).toBeGreaterThanOrEqual(1);
    expect(await t.server.store.repos.snapshots.findByName(name)).toBeUndefined();
  });
});
