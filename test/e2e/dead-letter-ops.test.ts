import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadLetterService, ResolutionFilter } from "../../gen/herald/v1/dead_letter_service_pb.js";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { expectCode } from "../support/expect-error.js";
import { text, untext } from "../support/fixtures.js";
import { eventually } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { startWebhookSink } from "../support/webhook-sink.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "dead-letter operations on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let dlq: ReturnType<typeof createClient<typeof DeadLetterService>>;
    let sink: Awaited<ReturnType<typeof startWebhookSink>>;
    let failing = true;
    const ids: string[] = [];

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(
        db,
        {},
        {
          env: {
            HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
            HERALD_WEBHOOK_ALLOW_HTTP: "true",
            HERALD_POLL_MAX_MS: "50",
          },
        },
      );
      dlq = createClient(DeadLetterService, createGrpcTransport({ baseUrl: t.server.url }));
      sink = await startWebhookSink(() => (failing ? { status: 500, body: "nope" } : { status: 204 }));
      await t.admin.createPublisher({ code: "ops-pub", name: "ops" });
      await t.admin.createTopic({ code: "ops.events", name: "ops" });
      const pullSub = (await t.admin.createSubscriber({ clientId: 1n, name: "puller" })).subscriber?.id ?? 0n;
      const pushSub =
        (await t.admin.createSubscriber({ clientId: 1n, name: "pusher", webhookUrl: sink.url })).subscriber
          ?.id ?? 0n;
      await t.admin.createSubscription({
        name: "ops-pull",
        subscriberId: pullSub,
        topic: "ops.events",
        maxDeliveryAttempts: 1,
      });
      await t.admin.createSubscription({ name: "ops-bystander", subscriberId: pullSub, topic: "ops.events" });
      await t.admin.createSubscription({
        name: "ops-push",
        subscriberId: pushSub,
        topic: "ops.events",
        deliveryType: DeliveryType.PUSH,
        maxDeliveryAttempts: 1,
      });
      await t.server.refreshPushers();
      const published = await t.publisher.publish({
        publisher: "ops-pub",
        topic: "ops.events",
        messages: Array.from({ length: 5 }, (_, i) => ({ data: text(`m${i}`), identifier: `id-${i}` })),
      });
      ids.push(...published.messageIds);
      // Nack everything on the pull subscription (one attempt allowed → dead letters).
      const pulled = await t.subscriber.pull({ subscription: "ops-pull", maxMessages: 10 });
      expect(pulled.receivedMessages).toHaveLength(5);
      await t.subscriber.modifyAckDeadline({
        subscription: "ops-pull",
        ackIds: pulled.receivedMessages.map((m) => m.ackId),
        ackDeadlineSeconds: 0,
      });
      // The failing webhook dead-letters the push subscription's five.
      await eventually(
        () => dlq.getDeadLetterStats({}),
        (r) => r.stats?.totalItems === 10n,
        20_000,
        "ten dead letters",
      );
    });
    afterAll(async () => {
      await t?.stop();
      await sink?.close();
      await db?.drop();
    });

    it("lists dead letters newest first, filters them, and pages through them", async () => {
      const all = await dlq.listDeadLetters({});
      expect(all.deadLetters).toHaveLength(10);
      const dlIds = all.deadLetters.map((d) => d.id);
      expect([...dlIds].sort((a, b) => (a > b ? -1 : 1))).toEqual(dlIds);
      const push = await dlq.listDeadLetters({ filter: { subscription: "ops-push" } });
      expect(push.deadLetters).toHaveLength(5);
      expect(push.deadLetters[0]).toMatchObject({
        subscription: "ops-push",
        failureReason: "MAX_ATTEMPTS",
        attemptCount: 1,
        lastHttpStatus: 500,
        lastError: "nope",
        callbackUrl: sink.url,
        resolved: false,
      });
      const pull = await dlq.listDeadLetters({
        filter: { subscription: "ops-pull", failureReason: "MAX_ATTEMPTS" },
      });
      expect(pull.deadLetters.map((d) => d.lastError)).toEqual(Array(5).fill("nack"));
      expect(pull.deadLetters[0]?.callbackUrl).toBe("");
      const seen: bigint[] = [];
      let pageToken = "";
      do {
        const page = await dlq.listDeadLetters({ pageSize: 3, pageToken });
        seen.push(...page.deadLetters.map((d) => d.id));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(seen).toEqual(dlIds);
      const one = await dlq.getDeadLetter({ id: dlIds[0] as bigint });
      expect(untext(one.deadLetter?.messageData)).toMatch(/^m\d$/);
      expect(one.deadLetter?.firstAttemptTime).toBeDefined();
      expect(one.deadLetter?.movedTime).toBeDefined();
      await expectCode(dlq.getDeadLetter({ id: 999_999n }), Code.NotFound);
      await expectCode(
        dlq.listDeadLetters({ filter: { failureReason: "BOGUS" } }),
        Code.InvalidArgument,
        "filter.failure_reason",
      );
      await expectCode(dlq.listDeadLetters({ filter: { subscription: "nope" } }), Code.NotFound);
    });

    it("computes stats in the database that agree with the rows", async () => {
      const { stats } = await dlq.getDeadLetterStats({ subscription: "ops-pull" });
      expect(stats).toMatchObject({
        totalItems: 5n,
        unresolvedItems: 5n,
        resolvedItems: 0n,
        topFailureReason: "MAX_ATTEMPTS",
      });
      expect(stats?.oldestItemAgeSeconds).toBeGreaterThanOrEqual(stats?.newestItemAgeSeconds ?? 0n);
      const sub = await t.admin.getSubscriptionStats({ name: "ops-pull" });
      expect(sub.stats).toMatchObject({
        backlog: 0n,
        inFlight: 0n,
        waitingForRetry: 0n,
        deadLettersUnresolved: 5n,
        failedLastHour: 5n,
      });
      const bystander = await t.admin.getSubscriptionStats({ name: "ops-bystander" });
      expect(bystander.stats?.backlog).toBe(5n);
      expect(bystander.stats?.oldestUnackedAgeSeconds).toBeGreaterThanOrEqual(0n);
    });

    it("replays to the source subscription only, marks the dead letters resolved, and refuses a second replay", async () => {
      const pullDead = (await dlq.listDeadLetters({ filter: { subscription: "ops-pull" } })).deadLetters;
      const chosen = pullDead.slice(0, 2).map((d) => d.id);
      const bystanderBefore = await t.admin.listQueueItems({ subscription: "ops-bystander" });
      const replayed = await dlq.replayDeadLetters({ ids: chosen, resolvedBy: "alice" });
      expect(replayed.replayedCount).toBe(2n);
      const again = await t.subscriber.pull({ subscription: "ops-pull", maxMessages: 10 });
      expect(again.receivedMessages.map((m) => m.message?.messageId).sort()).toEqual(
        pullDead
          .slice(0, 2)
          .map((d) => d.messageId)
          .sort(),
      );
      expect(again.receivedMessages.map((m) => m.deliveryAttempt)).toEqual([1, 1]);
      await t.subscriber.acknowledge({
        subscription: "ops-pull",
        ackIds: again.receivedMessages.map((m) => m.ackId),
      });
      const bystanderAfter = await t.admin.listQueueItems({ subscription: "ops-bystander" });
      expect(bystanderAfter.queueItems.length).toBe(bystanderBefore.queueItems.length);
      const resolved = await dlq.getDeadLetter({ id: chosen[0] as bigint });
      expect(resolved.deadLetter).toMatchObject({
        resolved: true,
        resolvedBy: "alice",
        resolutionNote: "replayed",
      });
      await expectCode(dlq.replayDeadLetters({ ids: chosen }), Code.FailedPrecondition);
      await expectCode(dlq.replayDeadLetters({}), Code.InvalidArgument, "ids");
      const forced = await dlq.replayDeadLetters({ ids: [chosen[0] as bigint], force: true });
      expect(forced.replayedCount).toBe(1n);
      const third = await t.subscriber.pull({ subscription: "ops-pull", maxMessages: 10 });
      expect(third.receivedMessages).toHaveLength(1);
      await t.subscriber.acknowledge({
        subscription: "ops-pull",
        ackIds: third.receivedMessages.map((m) => m.ackId),
      });
    });

    it("replays a push subscription's dead letters by filter once the endpoint recovers", async () => {
      failing = false;
      const replayed = await dlq.replayDeadLetters({
        filter: { subscription: "ops-push", resolution: ResolutionFilter.UNRESOLVED },
        resolvedBy: "bob",
      });
      expect(replayed.replayedCount).toBe(5n);
      await eventually(
        async () => sink.received.filter((p) => p.status === 204).length,
        (n) => n === 5,
        20_000,
        "five successful pushes",
      );
      expect(new Set(sink.received.filter((p) => p.status === 204).map((p) => p.json.subscription))).toEqual(
        new Set(["ops-push"]),
      );
      // A replay keeps the webhook-id of the failed pushes: a receiver deduplicating on it sees one event.
      const idsOf = (status: number) =>
        new Set(sink.received.filter((p) => p.status === status).map((p) => p.headers["webhook-id"]));
      expect(idsOf(204).size).toBe(5);
      expect(idsOf(204)).toEqual(idsOf(500));
    });

    it("resolves, then purges resolved dead letters in batches, leaving unresolved ones", async () => {
      const remaining = (
        await dlq.listDeadLetters({
          filter: { subscription: "ops-pull", resolution: ResolutionFilter.UNRESOLVED },
        })
      ).deadLetters.map((d) => d.id);
      expect(remaining).toHaveLength(3);
      const first = await dlq.resolveDeadLetters({
        ids: remaining.slice(0, 2),
        resolvedBy: "carol",
        note: "known bug",
      });
      expect(first.resolvedCount).toBe(2n);
      const twice = await dlq.resolveDeadLetters({
        ids: remaining.slice(0, 1),
        resolvedBy: "dave",
        note: "again",
      });
      expect(twice.resolvedCount).toBe(0n);
      expect((await dlq.getDeadLetter({ id: remaining[0] as bigint })).deadLetter?.resolvedBy).toBe("carol");
      await expectCode(
        dlq.resolveDeadLetters({ ids: remaining, resolvedBy: "" }),
        Code.InvalidArgument,
        "resolved_by",
      );
      await expectCode(dlq.resolveDeadLetters({ ids: [987_654n], resolvedBy: "x" }), Code.NotFound);
      const purged = await dlq.purgeDeadLetters({});
      expect(purged.purgedCount).toBe(9n); // 2 + 5 replayed, 2 resolved
      const left = await dlq.listDeadLetters({});
      expect(left.deadLetters.map((d) => d.id)).toEqual([remaining[2]]);
      const all = await dlq.purgeDeadLetters({ includeUnresolved: true, olderThan: { seconds: 0n } });
      expect(all.purgedCount).toBe(0n);
      const rest = await dlq.purgeDeadLetters({ includeUnresolved: true, subscription: "ops-pull" });
      expect(rest.purgedCount).toBe(1n);
    });

    it("shows a message's delivery history across subscriptions and the queue's rows", async () => {
      const messageId = ids[0] as string;
      const logs = await t.admin.listNotificationLogs({ messageId });
      const bySub = new Map<bigint, string[]>();
      for (const l of [...logs.notificationLogs].reverse())
        bySub.set(l.subscriptionId, [
          ...(bySub.get(l.subscriptionId) ?? []),
          `${l.deliveryMethod}:${l.status}`,
        ]);
      expect([...bySub.values()].map((v) => v[0])).toEqual(
        expect.arrayContaining(["pull:failed", "webhook:failed"]),
      );
      const failedPushes = await t.admin.listNotificationLogs({
        deliveryMethod: "webhook",
        status: "failed",
      });
      expect(failedPushes.notificationLogs.length).toBe(5);
      expect(failedPushes.notificationLogs[0]?.httpStatus).toBe(500);
      await expectCode(
        t.admin.listNotificationLogs({ deliveryMethod: "carrier-pigeon" }),
        Code.InvalidArgument,
        "delivery_method",
      );
      const queue = await t.admin.listQueueItems({
        subscription: "ops-bystander",
        status: "pending",
        pageSize: 2,
      });
      expect(queue.queueItems).toHaveLength(2);
      expect(queue.queueItems[0]).toMatchObject({ status: "pending", attemptCount: 0, identifier: "id-0" });
      expect(untext(queue.queueItems[0]?.data)).toBe("m0");
      expect(queue.nextPageToken).not.toBe("");
      await expectCode(
        t.admin.listQueueItems({ subscription: "ops-bystander", status: "lost" }),
        Code.InvalidArgument,
        "status",
      );
      await expectCode(t.admin.pauseSubscription({ name: "ops-bystander" }), Code.FailedPrecondition);
    });
  },
);
