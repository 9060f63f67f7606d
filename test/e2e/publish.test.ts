import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublishMessageSchema } from "../../gen/herald/v1/publisher_service_pb.js";
import { expectCode } from "../support/expect-error.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

type Msg = MessageInitShape<typeof PublishMessageSchema>;
const bytes = (s: string) => new TextEncoder().encode(s);

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "PublisherService on %s",
  (_kind, target) => {
    let db: TestDatabase;
    let t: TestServer;
    const subs: Record<string, bigint> = {};

    const publish = (messages: Msg[], topic = "user.signup", publisher = "user-service") =>
      t.publisher.publish({ publisher, topic, messages });

    /** subscription name → message ids queued for it, from the queue table itself. */
    async function queuedFor(messageIds: string[]): Promise<Record<string, string[]>> {
      const byId = new Map(Object.entries(subs).map(([name, id]) => [id, name]));
      const result: Record<string, string[]> = {};
      for (const id of messageIds) {
        for (const row of await t.server.store.repos.queue.listByMessage(BigInt(id))) {
          const name = byId.get(row.subscriptionId) ?? `#${row.subscriptionId}`;
          result[name] = [...(result[name] ?? []), id];
          expect(row.status).toBe("pending");
          expect(row.attemptCount).toBe(0);
        }
      }
      return result;
    }

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db);
      await t.admin.createPublisher({ code: "user-service", name: "Users" });
      await t.admin.createPublisher({ code: "retired", name: "Retired" });
      await t.admin.updatePublisher({ code: "retired", isActive: false });
      await t.admin.createTopic({ code: "user.signup", name: "Signups" });
      await t.admin.createTopic({ code: "user.closed", name: "Closed" });
      await t.admin.updateTopic({ code: "user.closed", isActive: false });
      await t.admin.createTopic({ code: "other.topic", name: "Other" });
      const active = (await t.admin.createSubscriber({ clientId: 1n, name: "crm" })).subscriber?.id ?? 0n;
      const inactive = (await t.admin.createSubscriber({ clientId: 1n, name: "off" })).subscriber?.id ?? 0n;
      await t.admin.updateSubscriber({ id: inactive, isActive: false });
      const create = async (
        name: string,
        identifier: string,
        subscriberId = active,
        topic = "user.signup",
      ) => {
        const { subscription } = await t.admin.createSubscription({ name, subscriberId, topic, identifier });
        subs[name] = subscription?.id ?? 0n;
      };
      await create("all", "");
      await create("star", "*");
      await create("exact", "user-1");
      await create("users", "user-*");
      await create("eu", "*-eu");
      await create("meta", "a%b_c");
      await create("deleted", "");
      await t.admin.deleteSubscription({ name: "deleted" });
      await create("inactive-subscriber", "", inactive);
      await create("other-topic", "", active, "other.topic");
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("stores a batch and creates exactly one queue row per matching live subscription", async () => {
      const { messageIds } = await publish([
        { data: bytes("1"), identifier: "user-1" },
        { data: bytes("2"), identifier: "user-2-eu" },
        { data: bytes("3"), identifier: "order-9" },
        { data: bytes("4"), identifier: "User-1" },
        { data: bytes("5"), identifier: "a%b_c" },
        { data: bytes("6"), identifier: "aXbYc" },
      ]);
      expect(messageIds).toHaveLength(6);
      const [m1, m2, m3, m4, m5, m6] = messageIds as [string, string, string, string, string, string];
      expect(new Set(messageIds).size).toBe(6);
      expect(await queuedFor(messageIds)).toEqual({
        all: [m1, m2, m3, m4, m5, m6],
        star: [m1, m2, m3, m4, m5, m6],
        exact: [m1],
        users: [m1, m2],
        eu: [m2],
        meta: [m5],
      });
    });

    it("stores the message with its publisher, attributes, ordering key and bytes", async () => {
      const data = new Uint8Array([0, 1, 254, 255]);
      const { messageIds } = await publish([
        { data, attributes: { lang: "日本語", k: "v" }, orderingKey: "key-1", identifier: "user-7" },
      ]);
      const stored = await t.server.store.repos.messages.findById(BigInt(messageIds[0] ?? "0"));
      const publisher = await t.server.store.repos.publishers.findByCode("user-service");
      expect(stored).toMatchObject({
        orderingKey: "key-1",
        identifier: "user-7",
        publisherId: publisher?.id,
      });
      expect(stored?.attributes).toEqual({ lang: "日本語", k: "v" });
      expect([...(stored?.data ?? [])]).toEqual([0, 1, 254, 255]);
    });

    it("deduplicates by dedup_id per publisher, within and across requests", async () => {
      const first = await publish([
        { data: bytes("a"), dedupId: "evt-1", identifier: "user-1" },
        { data: bytes("b"), dedupId: "evt-1", identifier: "user-1" },
        { data: bytes("c"), identifier: "user-1" },
      ]);
      const [a, b, c] = first.messageIds;
      expect(b).toBe(a);
      expect(c).not.toBe(a);
      const again = await publish([{ data: bytes("a2"), dedupId: "evt-1", identifier: "user-1" }]);
      expect(again.messageIds).toEqual([a]);
      // Nothing was queued twice for the repeated dedup id.
      expect((await queuedFor([a as string])).exact).toEqual([a]);
      const stored = await t.server.store.repos.messages.findById(BigInt(a as string));
      expect(new TextDecoder().decode(stored?.data)).toBe("a");
    });

    it("creates one message when concurrent publishes share a dedup_id", async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          publish([{ data: bytes(`r${i}`), dedupId: "race-1", identifier: "x" }]),
        ),
      );
      const ids = new Set(results.map((r) => r.messageIds[0]));
      expect(ids.size).toBe(1);
      expect(await queuedFor([...ids] as string[])).toMatchObject({ all: [...ids] });
    });

    it("refuses inactive publishers and topics, and unknown ones", async () => {
      await expectCode(publish([{ data: bytes("x") }], "user.signup", "retired"), Code.FailedPrecondition);
      await expectCode(publish([{ data: bytes("x") }], "user.closed"), Code.FailedPrecondition);
      await expectCode(publish([{ data: bytes("x") }], "no.such"), Code.NotFound);
      await expectCode(publish([{ data: bytes("x") }], "user.signup", "nobody"), Code.NotFound);
    });

    it("enforces every limit with INVALID_ARGUMENT naming the field", async () => {
      const big = (n: number) => "k".repeat(n);
      const cases: [Msg[] | (() => Promise<unknown>), string][] = [
        [[], "messages"],
        [Array.from({ length: 1001 }, () => ({ data: bytes("x") })), "messages"],
        [[{ data: bytes("ok") }, {}], "messages[1].data"],
        [
          [{ attributes: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, "v"])) }],
          "messages[0].attributes",
        ],
        [[{ attributes: { [big(257)]: "v" } }], "messages[0].attributes"],
        [[{ attributes: { k: big(1025) } }], "messages[0].attributes"],
        [[{ data: bytes("x"), orderingKey: big(1025) }], "messages[0].ordering_key"],
        [[{ data: bytes("x"), identifier: big(1025) }], "messages[0].identifier"],
        [[{ data: bytes("x"), dedupId: big(257) }], "messages[0].dedup_id"],
        [
          () =>
            t.publisher.publish({ publisher: "", topic: "user.signup", messages: [{ data: bytes("x") }] }),
          "publisher",
        ],
        [
          () =>
            t.publisher.publish({ publisher: "user-service", topic: "", messages: [{ data: bytes("x") }] }),
          "topic",
        ],
      ];
      for (const [input, field] of cases) {
        const call = typeof input === "function" ? input() : publish(input);
        await expectCode(call, Code.InvalidArgument, field);
      }
      // Exactly at the limits is accepted.
      const atLimits = await publish([
        {
          attributes: { [big(256)]: big(1024) },
          orderingKey: big(1024),
          identifier: big(1024),
          dedupId: big(256),
        },
      ]);
      expect(atLimits.messageIds).toHaveLength(1);
    });

    it("accepts a request just under 10 MiB and rejects one just over it", async () => {
      const chunk = new Uint8Array(1024 * 1024).fill(7);
      const under: Msg[] = Array.from({ length: 9 }, () => ({ data: chunk, identifier: "bulk" }));
      under.push({ data: new Uint8Array(1024 * 1024 - 64).fill(1), identifier: "bulk" });
      const ok = await publish(under, "other.topic");
      expect(ok.messageIds).toHaveLength(10);
      const last = await t.server.store.repos.messages.findById(BigInt(ok.messageIds[9] ?? "0"));
      expect(last?.data.length).toBe(1024 * 1024 - 64);
      const over: Msg[] = Array.from({ length: 10 }, () => ({ data: chunk, identifier: "bulk" }));
      over.push({ data: bytes("one byte too many") });
      await expectCode(publish(over, "other.topic"), Code.InvalidArgument, "messages");
    });

    it("publishes 1000 messages in one request with ids in request order", async () => {
      const messages = Array.from({ length: 1000 }, (_, i) => ({
        data: bytes(`m${i}`),
        identifier: `user-${i}`,
      }));
      const { messageIds } = await publish(messages);
      const ids = messageIds.map(BigInt);
      expect(ids).toHaveLength(1000);
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1] as bigint);
      const m500 = await t.server.store.repos.messages.findById(ids[500] as bigint);
      expect(new TextDecoder().decode(m500?.data)).toBe("m500");
    });
  },
);
