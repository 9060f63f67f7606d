import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { expectCode } from "../support/expect-error.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "AdminService on %s",
  (_kind, target) => {
    let db: TestDatabase;
    let t: TestServer;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db);
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("creates, gets, lists, updates and deletes publishers", async () => {
      const { publisher } = await t.admin.createPublisher({
        code: "billing",
        name: "Billing",
        description: "invoices",
      });
      expect(publisher).toMatchObject({
        code: "billing",
        name: "Billing",
        description: "invoices",
        isActive: true,
      });
      expect(publisher?.id).toBeGreaterThan(0n);
      expect((await t.admin.getPublisher({ code: "billing" })).publisher?.name).toBe("Billing");
      const updated = await t.admin.updatePublisher({ code: "billing", isActive: false, name: "Billing v2" });
      expect(updated.publisher).toMatchObject({
        isActive: false,
        name: "Billing v2",
        description: "invoices",
      });
      await t.admin.deletePublisher({ code: "billing" });
      await expectCode(t.admin.getPublisher({ code: "billing" }), Code.NotFound);
    });

    it("rejects duplicate codes and names with ALREADY_EXISTS", async () => {
      await t.admin.createPublisher({ code: "dup-pub", name: "x" });
      await expectCode(t.admin.createPublisher({ code: "dup-pub", name: "y" }), Code.AlreadyExists);
      await t.admin.createTopic({ code: "dup.topic", name: "x" });
      await expectCode(t.admin.createTopic({ code: "dup.topic", name: "y" }), Code.AlreadyExists);
      const { subscriber } = await t.admin.createSubscriber({ clientId: 1n, name: "s" });
      const sub = { name: "dup-sub", subscriberId: subscriber?.id ?? 0n, topic: "dup.topic" };
      await t.admin.createSubscription(sub);
      await expectCode(t.admin.createSubscription(sub), Code.AlreadyExists);
    });

    it("names the offending field in INVALID_ARGUMENT", async () => {
      await expectCode(t.admin.createPublisher({ code: "", name: "x" }), Code.InvalidArgument, "code");
      await expectCode(
        t.admin.createPublisher({ code: "bad code", name: "x" }),
        Code.InvalidArgument,
        "code",
      );
      await expectCode(t.admin.createPublisher({ code: "ok", name: "" }), Code.InvalidArgument, "name");
      await expectCode(t.admin.createTopic({ code: "a..b", name: "x" }), Code.InvalidArgument, "code");
      await expectCode(
        t.admin.createTopic({ code: "user.sign%up", name: "x" }),
        Code.InvalidArgument,
        "code",
      );
      await expectCode(
        t.admin.createSubscriber({ clientId: 0n, name: "x" }),
        Code.InvalidArgument,
        "client_id",
      );
      await expectCode(
        t.admin.createSubscriber({ clientId: 1n, name: "x", webhookUrl: "ftp://example.com" }),
        Code.InvalidArgument,
        "webhook_url",
      );
      await expectCode(
        t.admin.createSubscriber({ clientId: 1n, name: "x", webhookUrl: "https://user:pw@example.com/hook" }),
        Code.InvalidArgument,
        "webhook_url",
      );
      await expectCode(t.admin.listTopics({ pageSize: 5000 }), Code.InvalidArgument, "page_size");
    });

    it("validates subscription settings and applies the defaults", async () => {
      await t.admin.createTopic({ code: "settings.topic", name: "x" });
      const { subscriber } = await t.admin.createSubscriber({ clientId: 2n, name: "pull-only" });
      const base = { subscriberId: subscriber?.id ?? 0n, topic: "settings.topic" };
      const { subscription } = await t.admin.createSubscription({ ...base, name: "defaults" });
      expect(subscription).toMatchObject({
        ackDeadlineSeconds: 30,
        maxDeliveryAttempts: 5,
        deliveryType: DeliveryType.PULL,
        enableOrdering: false,
        isActive: true,
      });
      expect(subscription?.minBackoff?.seconds).toBe(10n);
      expect(subscription?.maxBackoff?.seconds).toBe(600n);
      expect(subscription?.messageTtl?.seconds).toBe(86400n);
      const bad = [
        [{ ackDeadlineSeconds: 9 }, "ack_deadline_seconds"],
        [{ ackDeadlineSeconds: 601 }, "ack_deadline_seconds"],
        [{ maxDeliveryAttempts: 0 }, "max_delivery_attempts"],
        [{ maxDeliveryAttempts: 101 }, "max_delivery_attempts"],
        [{ minBackoff: { seconds: 700n }, maxBackoff: { seconds: 600n } }, "min_backoff"],
        [{ messageTtl: { seconds: 1n } }, "message_ttl"],
        [{ identifier: "bad\u0001filter" }, "identifier"],
        [{ deliveryType: DeliveryType.PUSH }, "push_endpoint"],
        [{ deliveryType: 7 as DeliveryType }, "delivery_type"],
        [{ name: "has space" }, "name"],
      ] as const;
      for (const [change, field] of bad) {
        await expectCode(
          t.admin.createSubscription({ ...base, name: "bad-settings", ...change }),
          Code.InvalidArgument,
          field,
        );
      }
      await expectCode(t.admin.createSubscription({ ...base, name: "x", topic: "no.such" }), Code.NotFound);
      await expectCode(
        t.admin.createSubscription({ ...base, name: "x", subscriberId: 999999n }),
        Code.NotFound,
      );
    });

    it("soft-deletes subscriptions, keeps them visible with show_deleted, and counts deliveries", async () => {
      await t.admin.createTopic({ code: "soft.delete", name: "x" });
      const { subscriber } = await t.admin.createSubscriber({
        clientId: 3n,
        name: "hooked",
        webhookUrl: "https://hooks.example.com/in",
      });
      const { subscription } = await t.admin.createSubscription({
        name: "soft-push",
        subscriberId: subscriber?.id ?? 0n,
        topic: "soft.delete",
        deliveryType: DeliveryType.PUSH,
      });
      expect(subscription?.callbackUrl).toBe("https://hooks.example.com/in");
      const full = await t.admin.getSubscription({ name: "soft-push" });
      expect(full.messageCount).toBe(0n);
      const updated = await t.admin.updateSubscription({
        name: "soft-push",
        pushEndpoint: "https://other.example.com/x",
      });
      expect(updated.subscription?.callbackUrl).toBe("https://other.example.com/x");

      await t.admin.deleteSubscription({ name: "soft-push" });
      await expectCode(t.admin.deleteSubscription({ name: "soft-push" }), Code.NotFound);
      const after = await t.admin.getSubscription({ name: "soft-push" });
      expect(after.subscription?.isActive).toBe(false);
      expect(after.subscription?.deleteTime).toBeDefined();
      await expectCode(
        t.admin.updateSubscription({ name: "soft-push", ackDeadlineSeconds: 60 }),
        Code.FailedPrecondition,
      );
      const live = await t.admin.listSubscriptions({ topic: "soft.delete" });
      expect(live.subscriptions).toHaveLength(0);
      const all = await t.admin.listSubscriptions({ topic: "soft.delete", showDeleted: true });
      expect(all.subscriptions.map((s) => s.name)).toEqual(["soft-push"]);
      // Deleted subscriptions keep their history, so their subscriber and topic stay too.
      await expectCode(t.admin.deleteSubscriber({ id: subscriber?.id ?? 0n }), Code.FailedPrecondition);
      await expectCode(t.admin.deleteTopic({ code: "soft.delete" }), Code.FailedPrecondition);
      await t.admin.createTopic({ code: "empty.topic", name: "x" });
      await t.admin.deleteTopic({ code: "empty.topic" });
    });

    it("pages through lists and rejects tokens of another list", async () => {
      for (let i = 0; i < 5; i++) await t.admin.createTopic({ code: `paged.t${i}`, name: `t${i}` });
      const seen: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await t.admin.listTopics({ pageSize: 2, pageToken });
        seen.push(...page.topics.map((x) => x.code));
        pageToken = page.nextPageToken;
        pages += 1;
      } while (pageToken !== "" && pages < 100);
      expect(seen.filter((c) => c.startsWith("paged."))).toEqual([
        "paged.t0",
        "paged.t1",
        "paged.t2",
        "paged.t3",
        "paged.t4",
      ]);
      const first = await t.admin.listTopics({ pageSize: 1 });
      await expectCode(
        t.admin.listPublishers({ pageToken: first.nextPageToken }),
        Code.InvalidArgument,
        "page_token",
      );
      await expectCode(t.admin.listTopics({ pageToken: "not-a-token" }), Code.InvalidArgument, "page_token");
    });

    it("filters subscribers by client and subscriptions by subscriber", async () => {
      await t.admin.createTopic({ code: "filter.topic", name: "x" });
      const a = (await t.admin.createSubscriber({ clientId: 501n, name: "a" })).subscriber;
      const b = (await t.admin.createSubscriber({ clientId: 502n, name: "b" })).subscriber;
      await t.admin.createSubscription({
        name: "filter-a",
        subscriberId: a?.id ?? 0n,
        topic: "filter.topic",
      });
      await t.admin.createSubscription({
        name: "filter-b",
        subscriberId: b?.id ?? 0n,
        topic: "filter.topic",
      });
      const ofClient = await t.admin.listSubscribers({ clientId: 501n });
      expect(ofClient.subscribers.map((s) => s.name)).toEqual(["a"]);
      const ofB = await t.admin.listSubscriptions({ subscriberId: b?.id ?? 0n });
      expect(ofB.subscriptions.map((s) => s.name)).toEqual(["filter-b"]);
      await expectCode(t.admin.listSubscriptions({ topic: "no.such.topic" }), Code.NotFound);
    });

    it("answers NOT_FOUND for unknown ids and codes", async () => {
      await expectCode(t.admin.getTopic({ code: "missing.topic" }), Code.NotFound);
      await expectCode(t.admin.getSubscriber({ id: 123456n }), Code.NotFound);
      await expectCode(t.admin.getSubscription({ name: "missing-sub" }), Code.NotFound);
      await expectCode(t.admin.updateTopic({ code: "missing.topic", name: "x" }), Code.NotFound);
      await expectCode(t.admin.deletePublisher({ code: "missing-pub" }), Code.NotFound);
    });
  },
);
