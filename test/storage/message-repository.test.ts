/** Conformance of MessageRepository on every test database: ids in order, exact bytes, exact int64 ids. */
import { describe, expect, it } from "vitest";
import type { MessageToStore } from "../../src/app/ports/message-repository.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  messageToStore,
  NOW_MS,
  useConformanceStore,
} from "./conformance-setup.js";

const MIB = 1024 * 1024;

/** 2^53 + 1: the first integer a double cannot hold. */
const BEYOND_SAFE_INTEGER = 9_007_199_254_740_993n;

/** Counts the `INSERT INTO messages` statements `work` sends through the store's knex. */
async function countMessageInserts(store: KnexStore, work: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const onQuery = (query: { sql: string }) => {
    if (/^\s*insert into messages\b/i.test(query.sql)) count += 1;
  };
  store.knex.on("query", onQuery);
  try {
    await work();
  } finally {
    store.knex.off("query", onQuery);
  }
  return count;
}

function expectSameBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual?.byteLength).toBe(expected.byteLength);
  expect(Buffer.from(actual ?? new Uint8Array()).equals(Buffer.from(expected))).toBe(true);
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("messages on %s", (_kind, target) => {
  const store = useConformanceStore(target);

  async function topicAndPublisher() {
    const s = store();
    return { topic: await createTopic(s), publisher: await createPublisher(s) };
  }

  it("inserts messages and returns their ids in order, each round-tripping with every field", async () => {
    const { topic, publisher } = await topicAndPublisher();
    const messages: MessageToStore[] = [
      messageToStore(topic.id, publisher.id, {
        data: new Uint8Array([0x00, 0xff, 0x00, 0x7f, 0x80, 0x0a, 0x0d, 0x5c, 0x27, 0x22, 0x00]),
        attributes: { "emoji 🚀": "välue ✓ 中文", empty: "", 'quote"': "back\\slash", "nul\u0000": "x" },
        orderingKey: "order-42 ✓",
        identifier: "user-1 ünïcode",
        createdAtMs: NOW_MS,
      }),
      messageToStore(topic.id, publisher.id, {
        data: new Uint8Array(),
        attributes: { only: "attributes" },
        orderingKey: "",
        identifier: "",
        createdAtMs: NOW_MS + 1,
      }),
      messageToStore(topic.id, publisher.id, {
        data: new Uint8Array([0xff]),
        identifier: "third",
        createdAtMs: NOW_MS + 2,
      }),
    ];
    const ids = await store().repos.messages.insertMany(messages);
    expect(ids).toHaveLength(3);
    expect(ids.every((id) => typeof id === "bigint")).toBe(true);
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
    for (const [i, message] of messages.entries()) {
      const found = await store().repos.messages.findById(ids[i] as bigint);
      expect(found).toBeDefined();
      expectSameBytes(found?.data, message.data);
      expect({ ...found, data: undefined }).toEqual({
        id: ids[i],
        topicId: topic.id,
        publisherId: publisher.id,
        identifier: message.identifier,
        orderingKey: message.orderingKey,
        data: undefined,
        attributes: message.attributes,
        createdAtMs: message.createdAtMs,
      });
    }
  });

  it("stores only the bytes of a Uint8Array view, not its whole buffer", async () => {
    const { topic, publisher } = await topicAndPublisher();
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9, 9]);
    const [id] = await store().repos.messages.insertMany([
      messageToStore(topic.id, publisher.id, { data: backing.subarray(2, 5) }),
    ]);
    expectSameBytes((await store().repos.messages.findById(id as bigint))?.data, new Uint8Array([1, 2, 3]));
  });

  it("returns no ids for an empty batch and undefined for an unknown id", async () => {
    expect(await store().repos.messages.insertMany([])).toEqual([]);
    expect(await store().repos.messages.findById(987_654_321n)).toBeUndefined();
  });

  it("inserts a batch of 1000 messages with ids in order", async () => {
    const { topic, publisher } = await topicAndPublisher();
    const messages = Array.from({ length: 1000 }, (_, i) =>
      messageToStore(topic.id, publisher.id, {
        identifier: `m-${i}`,
        data: new Uint8Array([i & 0xff, i >> 8]),
        attributes: { index: String(i) },
        createdAtMs: NOW_MS + i,
      }),
    );
    const ids = await store().repos.messages.insertMany(messages);
    expect(ids).toHaveLength(1000);
    expect(new Set(ids).size).toBe(1000);
    for (let i = 1; i < ids.length; i++) expect((ids[i] as bigint) > (ids[i - 1] as bigint)).toBe(true);
    for (const [i, id] of ids.entries()) {
      const found = await store().repos.messages.findById(id);
      expect(found?.identifier).toBe(`m-${i}`);
      expect(found?.attributes).toEqual({ index: String(i) });
      expect(found?.createdAtMs).toBe(NOW_MS + i);
      expectSameBytes(found?.data, new Uint8Array([i & 0xff, i >> 8]));
    }
  });

  it("splits a batch over 4 MiB into several statements on MySQL and still returns the ids in order", async () => {
    const { topic, publisher } = await topicAndPublisher();
    const messages = Array.from({ length: 5 }, (_, i) => {
      const data = new Uint8Array(MIB).fill(0x10 + i);
      data[0] = 0x00;
      data[MIB - 1] = 0xff;
      return messageToStore(topic.id, publisher.id, { identifier: `big-${i}`, data });
    });
    let ids: bigint[] = [];
    const statements = await countMessageInserts(store(), async () => {
      ids = await store().repos.messages.insertMany(messages);
    });
    // MySQL sends buffers hex-encoded and caps a statement at 4 MiB: two 1 MiB payloads never fit.
    if (store().kind === "mysql") expect(statements).toBe(5);
    else expect(statements).toBeGreaterThanOrEqual(1);
    expect(ids).toHaveLength(5);
    for (const [i, id] of ids.entries()) {
      const found = await store().repos.messages.findById(id);
      expect(found?.identifier).toBe(`big-${i}`);
      expectSameBytes(found?.data, messages[i]?.data ?? new Uint8Array());
    }
  });

  // Last in this block: it moves the id sequence past 2^53 for the rest of the database's life.
  it("returns and reads back ids beyond 2^53 exactly, in messages and their queue rows", async () => {
    const s = store();
    const { topic, publisher } = await topicAndPublisher();
    const subscriber = await createSubscriber(s);
    const subscription = await createSubscription(s, { topicId: topic.id, subscriberId: subscriber.id });
    let firstId: bigint;
    if (s.kind === "mysql") {
      await s.knex.raw(`ALTER TABLE messages AUTO_INCREMENT = ${BEYOND_SAFE_INTEGER}`);
      firstId = BEYOND_SAFE_INTEGER;
    } else {
      await s.knex.raw(
        "INSERT INTO messages (id, topic_id, publisher_id, identifier, ordering_key, ordering_key_hash, data, attributes, created_at_ms) VALUES (?, ?, ?, '', '', 0, ?, '{}', ?)",
        // Ids bound as decimal strings, as the repositories do; the INTEGER PRIMARY KEY stores them exactly.
        [
          BEYOND_SAFE_INTEGER.toString(),
          topic.id.toString(),
          publisher.id.toString(),
          Buffer.from([1]),
          NOW_MS,
        ],
      );
      expect((await s.repos.messages.findById(BEYOND_SAFE_INTEGER))?.id).toBe(BEYOND_SAFE_INTEGER);
      firstId = BEYOND_SAFE_INTEGER + 1n;
    }
    const ids = await s.repos.messages.insertMany([
      messageToStore(topic.id, publisher.id, { identifier: "first" }),
      messageToStore(topic.id, publisher.id, { identifier: "second" }),
    ]);
    expect(ids).toEqual([firstId, firstId + 1n]);
    expect((await s.repos.messages.findById(firstId))?.identifier).toBe("first");
    expect((await s.repos.messages.findById(firstId))?.id).toBe(firstId);
    expect((await s.repos.messages.findById(firstId + 1n))?.identifier).toBe("second");

    expect(await s.repos.queue.fanOut(ids, NOW_MS)).toBe(2);
    const rows = await s.repos.queue.listByMessage(firstId + 1n);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.subscriptionId).toBe(subscription.id);
    expect(rows[0]?.messageId).toBe(firstId + 1n);
    expect(rows[0]?.sequenceNumber).toBe(firstId + 1n);
  });

  it("stores a trace context with the messages that carry one and none with the others", async () => {
    const { topic, publisher } = await topicAndPublisher();
    const traced = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 vendor=a,other=b";
    const repos = store().repos;
    const [withContext, without] = await repos.messages.insertMany([
      { ...messageToStore(topic.id, publisher.id), traceContext: traced },
      messageToStore(topic.id, publisher.id),
    ]);
    // A batch with no trace context at all (tracing off) inserts without the column.
    const [untraced] = await repos.messages.insertMany([messageToStore(topic.id, publisher.id)]);
    const found = await repos.messages.findMany([withContext, without, untraced] as bigint[]);
    expect(found.get(withContext as bigint)?.traceContext).toBe(traced);
    expect(found.get(without as bigint)).not.toHaveProperty("traceContext");
    expect(found.get(untraced as bigint)).not.toHaveProperty("traceContext");
  });
});
