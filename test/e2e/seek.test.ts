/**
 * Retention and Seek to a time through the real server: with the official @google-cloud/pubsub
 * client (topic message retention, retain_acked_messages, subscription.seek(date)) and with
 * Herald's own API (SeekSubscription): seek to the past replays acked retained messages, seek to
 * now clears the backlog, a subscription created later replays topic-retained messages, and ack
 * ids handed out before a seek stop working.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { expectCode } from "../support/expect-error.js";
import { createFixture, text, untext } from "../support/fixtures.js";
import { pubsubClients, receiveAll } from "../support/pubsub-client.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "Seek and retention on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    const clients = pubsubClients(() => t.server.url);

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, { pollMaxMs: 50 });
    });
    afterEach(async () => {
      await clients.closeAll();
    });
    afterAll(async () => {
      await clients.closeAll();
      await t?.stop();
      await db?.drop();
    });

    it("replays acked messages after seek(date), clears the backlog with seek(now), and replays topic retention to a late subscription", async () => {
      const pubsub = clients.create();
      const [topic] = await pubsub.createTopic({
        name: "seek-orders",
        messageRetentionDuration: { seconds: 3600 },
      });
      const [meta] = await topic.getMetadata();
      expect(Number(meta.messageRetentionDuration?.seconds)).toBe(3600);
      const [sub] = await topic.createSubscription("seek-orders-worker", { retainAckedMessages: true });
      const [subMeta] = await sub.getMetadata();
      expect(subMeta.retainAckedMessages).toBe(true);

      const before = new Date(Date.now() - 1_000);
      for (const data of ["a", "b", "c"]) await topic.publishMessage({ data: Buffer.from(data) });
      expect(await receiveAll(sub, 3)).toEqual(["a", "b", "c"]);
      expect((await t.admin.getSubscriptionStats({ name: "seek-orders-worker" })).stats?.backlog).toBe(0n);

      await sub.seek(before);
      expect((await t.admin.getSubscriptionStats({ name: "seek-orders-worker" })).stats?.backlog).toBe(3n);
      expect(await receiveAll(pubsub.subscription("seek-orders-worker"), 3)).toEqual(["a", "b", "c"]);

      await sub.seek(before);
      await sub.seek(new Date(Date.now() + 1_000));
      expect((await t.admin.getSubscriptionStats({ name: "seek-orders-worker" })).stats?.backlog).toBe(0n);

      // A subscription created after the publishes replays them from the topic's retention.
      const [late] = await topic.createSubscription("seek-orders-late");
      await late.seek(before);
      expect(await receiveAll(pubsub.subscription("seek-orders-late"), 3)).toEqual(["a", "b", "c"]);
    });

    it("answers NOT_FOUND for seek to a missing snapshot and refuses a topic retention under 10 minutes", async () => {
      const pubsub = clients.create();
      const [topic] = await pubsub.createTopic("seek-snapshot");
      const [sub] = await topic.createSubscription("seek-snapshot-sub");
      await expect(sub.seek("projects/p/snapshots/s")).rejects.toMatchObject({ code: Code.NotFound });
      await expect(
        pubsub.createTopic({ name: "seek-short", messageRetentionDuration: { seconds: 60 } }),
      ).rejects.toMatchObject({ code: Code.InvalidArgument });
    });

    it("seeks through Herald's API and fences ack ids handed out before the seek", async () => {
      const f = await createFixture(t, { deliveryType: DeliveryType.PULL, retainAckedMessages: true });
      expect(
        (await t.admin.getSubscription({ name: f.subscription })).subscription?.retainAckedMessages,
      ).toBe(true);
      const beforeMs = Date.now() - 1_000;
      await f.publish([{ data: text("one") }, { data: text("two") }]);
      const first = (await t.subscriber.pull({ subscription: f.subscription, maxMessages: 10 }))
        .receivedMessages;
      expect(first).toHaveLength(2);
      await t.subscriber.acknowledge({ subscription: f.subscription, ackIds: [first[0]?.ackId ?? ""] });

      const result = await t.admin.seekSubscription({
        name: f.subscription,
        time: timestampFromMs(beforeMs),
      });
      expect([result.ackedCount, result.requeuedCount, result.replayedCount]).toEqual([0n, 2n, 0n]);
      // The lease of the second message was taken back: its old ack id no longer acks anything.
      const stale = await t.subscriber.acknowledge({
        subscription: f.subscription,
        ackIds: [first[1]?.ackId ?? ""],
      });
      expect(stale.invalidAckIds).toEqual([first[1]?.ackId]);
      const again = (await t.subscriber.pull({ subscription: f.subscription, maxMessages: 10 }))
        .receivedMessages;
      expect(again.map((m) => untext(m.message?.data)).sort()).toEqual(["one", "two"]);

      await expectCode(t.admin.seekSubscription({ name: f.subscription }), Code.InvalidArgument, "time");
      await expectCode(
        t.admin.seekSubscription({ name: "no-such-sub", time: timestampFromMs(beforeMs) }),
        Code.NotFound,
      );
      await expectCode(
        t.admin.createTopic({
          code: "seek.bad",
          name: "bad",
          messageRetentionDuration: { seconds: 32n * 86_400n },
        }),
        Code.InvalidArgument,
        "message_retention_duration",
      );
      const { topic } = await t.admin.updateTopic({
        code: f.topic,
        messageRetentionDuration: { seconds: 7_200n },
      });
      expect(topic?.messageRetentionDuration?.seconds).toBe(7_200n);
    });
  },
);
