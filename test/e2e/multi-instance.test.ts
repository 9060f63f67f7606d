/**
 * Real `herald serve` processes sharing one database: two instances split a subscription's
 * messages without ever leasing one to both, and a consumer or server that goes away (stream
 * abort, SIGKILL, SIGTERM) loses nothing — its messages come back with the right delivery_attempt.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import type { ReceivedMessage, SubscribeRequestSchema } from "../../gen/herald/v1/subscriber_service_pb.js";
import { text, untext } from "../support/fixtures.js";
import {
  type HeraldClients,
  type HeraldProcess,
  heraldClients,
  killHeraldProcesses,
  startHeraldProcess,
} from "../support/herald-process.js";
import {
  type TestDatabase,
  type TestDatabaseTarget,
  testDatabaseTargets,
} from "../support/test-databases.js";

const targets = testDatabaseTargets();
const mysqlTarget = targets.find((t) => t.kind === "mysql");

interface Instance extends HeraldClients {
  proc: HeraldProcess;
}

/** A `herald serve` process on `db` with fast sweeps and polls, and clients connected to it. */
async function startInstance(db: TestDatabase): Promise<Instance> {
  const proc = await startHeraldProcess({
    DATABASE_URL: db.url,
    HERALD_ADDR: "127.0.0.1:0",
    HERALD_SWEEP_INTERVAL_MS: "200",
    HERALD_POLL_MAX_MS: "50",
  });
  return { proc, ...heraldClients(proc.url) };
}

interface PullSetup {
  subscription: string;
  /** Publishes one message per data string through `via`; resolves with the message ids. */
  publish(via: Instance, data: readonly string[]): Promise<string[]>;
}

let setups = 0;

interface PullSettings {
  ackDeadlineSeconds: number;
  minBackoff?: { seconds: bigint };
  maxBackoff?: { seconds: bigint };
}

/** A fresh publisher, topic, subscriber and PULL subscription with `settings`, created through `via`. */
async function createPullSubscription(via: Instance, settings: PullSettings): Promise<PullSetup> {
  setups += 1;
  const tag = `mi${setups}-${Math.random().toString(36).slice(2, 8)}`;
  const publisher = `pub-${tag}`;
  const topic = `topic.${tag}`;
  await via.admin.createPublisher({ code: publisher, name: publisher });
  await via.admin.createTopic({ code: topic, name: topic });
  const { subscriber } = await via.admin.createSubscriber({ clientId: 1n, name: tag });
  const subscription = `sub-${tag}`;
  await via.admin.createSubscription({
    name: subscription,
    subscriberId: subscriber?.id ?? 0n,
    topic,
    deliveryType: DeliveryType.PULL,
    ...settings,
  });
  return {
    subscription,
    publish: async (through, data) =>
      (await through.publisher.publish({ publisher, topic, messages: data.map((d) => ({ data: text(d) })) }))
        .messageIds,
  };
}

const idOf = (m: ReceivedMessage) => m.message?.messageId ?? "";
const sortedIds = (ms: readonly ReceivedMessage[]) => ms.map(idOf).sort();
const attemptsOf = (ms: readonly ReceivedMessage[]) => [...new Set(ms.map((m) => m.deliveryAttempt))];
const codeName = (error: ConnectError | undefined) => (error ? Code[error.code] : "no error");

/** Every Subscribe stream a test opens; afterEach aborts any the test left open. */
const openControllers = new Set<AbortController>();

interface OpenStream {
  /** Every message received so far, in order. */
  readonly received: ReceivedMessage[];
  /** Settles (never rejects) with the error that ended the stream; undefined when it ended cleanly. */
  readonly ended: Promise<ConnectError | undefined>;
  /** Resolves once `count` messages have arrived; rejects when the stream ends or `timeoutMs` passes first. */
  waitForCount(count: number, timeoutMs: number): Promise<ReceivedMessage[]>;
  abort(): void;
}

/**
 * Opens a Subscribe stream on `instance` and reads it in the background. `onBatch` runs for each
 * batch before the next is read (an error there ends the stream with that error).
 */
function subscribe(
  instance: Instance,
  request: MessageInitShape<typeof SubscribeRequestSchema>,
  onBatch?: (batch: ReceivedMessage[]) => Promise<void>,
): OpenStream {
  const controller = new AbortController();
  openControllers.add(controller);
  const received: ReceivedMessage[] = [];
  const listeners = new Set<() => void>();
  let endError: ConnectError | undefined;
  let hasEnded = false;
  const ended = (async () => {
    try {
      for await (const response of instance.subscriber.subscribe(request, { signal: controller.signal })) {
        received.push(...response.receivedMessages);
        for (const listener of [...listeners]) listener();
        await onBatch?.(response.receivedMessages);
      }
      return undefined;
    } catch (error) {
      endError = ConnectError.from(error);
      return endError;
    } finally {
      hasEnded = true;
      openControllers.delete(controller);
      for (const listener of [...listeners]) listener();
    }
  })();
  return {
    received,
    ended,
    abort: () => controller.abort(),
    waitForCount: (count, timeoutMs) =>
      new Promise((resolve, reject) => {
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        const check = () => {
          if (received.length >= count) finish(() => resolve([...received]));
          else if (hasEnded) {
            finish(() =>
              reject(new Error(`stream ended after ${received.length} of ${count} messages: ${endError}`)),
            );
          }
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`${received.length} of ${count} messages in ${timeoutMs} ms`))),
          timeoutMs,
        );
        listeners.add(check);
        check();
      }),
  };
}

/** Rejects with `describe()` when `promise` has not settled within `timeoutMs`. */
async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Arrival {
  message: ReceivedMessage;
  atMs: number;
}

/** Calls Pull on `instance` (waiting up to 5 s per call) until `count` messages arrived or `timeoutMs` passed. */
async function pullUntil(instance: Instance, subscription: string, count: number, timeoutMs: number) {
  const arrivals: Arrival[] = [];
  const deadline = Date.now() + timeoutMs;
  while (arrivals.length < count) {
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      const got = arrivals.map((a) => `${idOf(a.message)}#${a.message.deliveryAttempt}`).join(", ");
      throw new Error(`Pull got ${arrivals.length} of ${count} messages in ${timeoutMs} ms: [${got}]`);
    }
    const waitMs = Math.min(5_000, remainingMs);
    const { receivedMessages } = await instance.subscriber.pull({
      subscription,
      maxMessages: 100,
      maxWait: { seconds: BigInt(Math.floor(waitMs / 1000)), nanos: (waitMs % 1000) * 1_000_000 },
    });
    const atMs = Date.now();
    for (const message of receivedMessages) arrivals.push({ message, atMs });
  }
  return arrivals;
}

afterEach(async () => {
  for (const controller of openControllers) controller.abort();
  openControllers.clear();
  await killHeraldProcesses();
});

afterAll(async () => {
  await killHeraldProcesses();
});

describe.skipIf(mysqlTarget === undefined)("two herald processes on one MariaDB database", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await (mysqlTarget as TestDatabaseTarget).create();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("deliver and ack each of 2,000 messages exactly once, never leasing one to both streams", async () => {
    // One after the other: two first starts at once race on the migrations (see the report).
    const a = await startInstance(db);
    const b = await startInstance(db);
    const setup = await createPullSubscription(a, { ackDeadlineSeconds: 60 });
    const { subscription } = setup;
    const TOTAL = 2_000;
    const BATCH = 100;

    const published = new Map<string, string>();
    const receivedData = new Map<string, string>();
    const timesReceived = new Map<string, number>();
    const timesAcked = new Map<string, number>();
    const outstanding = { a: new Set<string>(), b: new Set<string>() };
    const receivedBy = { a: 0, b: 0 };
    const onBoth: string[] = [];
    const invalidAckIds: string[] = [];
    let allAcked!: () => void;
    const everythingAcked = new Promise<void>((resolve) => {
      allAcked = resolve;
    });

    // Each consumer acks through the OTHER instance: leases live in the database, not the process.
    const consumer = (name: "a" | "b", ackVia: Instance) => async (batch: ReceivedMessage[]) => {
      const other = outstanding[name === "a" ? "b" : "a"];
      for (const m of batch) {
        const id = idOf(m);
        if (other.has(id)) onBoth.push(id);
        outstanding[name].add(id);
        timesReceived.set(id, (timesReceived.get(id) ?? 0) + 1);
        receivedData.set(id, untext(m.message?.data));
      }
      receivedBy[name] += batch.length;
      const ack = await ackVia.subscriber.acknowledge({ subscription, ackIds: batch.map((m) => m.ackId) });
      invalidAckIds.push(...ack.invalidAckIds);
      for (const m of batch) {
        outstanding[name].delete(idOf(m));
        timesAcked.set(idOf(m), (timesAcked.get(idOf(m)) ?? 0) + 1);
      }
      if (timesAcked.size >= TOTAL) allAcked();
    };
    const request = { subscription, maxOutstandingMessages: 50 };
    const streamA = subscribe(a, request, consumer("a", b));
    const streamB = subscribe(b, request, consumer("b", a));

    for (let i = 0; i < TOTAL / BATCH; i++) {
      const data = Array.from({ length: BATCH }, (_, j) => `message-${i * BATCH + j}`);
      const ids = await setup.publish(i % 2 === 0 ? a : b, data);
      for (const [j, id] of ids.entries()) published.set(id, data[j] as string);
    }
    const endedEarly = (name: string, stream: OpenStream) =>
      stream.ended.then((error) => {
        throw new Error(`stream on ${name} ended early: ${error ?? "without an error"}`);
      });
    await withTimeout(
      Promise.race([everythingAcked, endedEarly("A", streamA), endedEarly("B", streamB)]),
      30_000,
      () => `${timesAcked.size} of ${TOTAL} acked (A received ${receivedBy.a}, B ${receivedBy.b})`,
    );
    streamA.abort();
    streamB.abort();
    expect([codeName(await streamA.ended), codeName(await streamB.ended)]).toEqual(["Canceled", "Canceled"]);

    expect(published.size).toBe(TOTAL);
    expect(onBoth).toEqual([]);
    expect(invalidAckIds).toEqual([]);
    expect([...timesReceived.keys()].sort()).toEqual([...published.keys()].sort());
    expect([...timesReceived.values()].filter((n) => n !== 1)).toEqual([]);
    expect([...timesAcked.values()].filter((n) => n !== 1)).toEqual([]);
    expect(receivedData).toEqual(published);
    expect(receivedBy.a + receivedBy.b).toBe(TOTAL);
    expect(receivedBy.a).toBeGreaterThan(0);
    expect(receivedBy.b).toBeGreaterThan(0);
    // Every queue row of the subscription is sent: nothing pending, leased or failed is left.
    expect((await b.admin.getSubscription({ name: subscription })).messageCount).toBe(BigInt(TOTAL));
  }, 45_000);
});

describe.each(targets.map((t) => [t.kind, t] as const))(
  "herald processes that go away on %s",
  (_k, target) => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await target.create();
    });
    afterAll(async () => {
      await db?.drop();
    });

    it("gives an aborted stream's messages to the next consumer at once, with delivery_attempt 2", async () => {
      const a = await startInstance(db);
      const setup = await createPullSubscription(a, { ackDeadlineSeconds: 600 });
      const { subscription } = setup;
      const ids = await setup.publish(
        a,
        Array.from({ length: 20 }, (_, i) => `held-${i}`),
      );
      const request = { subscription, maxOutstandingMessages: 100, ackDeadlineSeconds: 600 };

      const first = subscribe(a, request);
      const held = await first.waitForCount(ids.length, 10_000);
      expect(sortedIds(held)).toEqual([...ids].sort());
      expect(attemptsOf(held)).toEqual([1]);
      first.abort();
      expect(codeName(await first.ended)).toBe("Canceled");

      // Well before the 600 s lease would run out.
      const second = subscribe(a, request);
      const again = await second.waitForCount(ids.length, 10_000);
      expect(sortedIds(again)).toEqual([...ids].sort());
      expect(attemptsOf(again)).toEqual([2]);

      const stale = await a.subscriber.acknowledge({ subscription, ackIds: held.map((m) => m.ackId) });
      expect(stale.invalidAckIds.sort()).toEqual(held.map((m) => m.ackId).sort());
      const fresh = await a.subscriber.acknowledge({ subscription, ackIds: again.map((m) => m.ackId) });
      expect(fresh.invalidAckIds).toEqual([]);
      second.abort();
      expect(codeName(await second.ended)).toBe("Canceled");
      expect(second.received).toHaveLength(ids.length);
    });

    it("loses nothing when a server is SIGKILLed: another instance redelivers after the deadline", async () => {
      const a = await startInstance(db);
      const setup = await createPullSubscription(a, {
        ackDeadlineSeconds: 10,
        minBackoff: { seconds: 0n },
        maxBackoff: { seconds: 1n },
      });
      const { subscription } = setup;
      const ids = await setup.publish(
        a,
        Array.from({ length: 5 }, (_, i) => `leased-${i}`),
      );
      const pulledFromMs = Date.now();
      const leased = (await pullUntil(a, subscription, ids.length, 5_000)).map((x) => x.message);
      expect(sortedIds(leased)).toEqual([...ids].sort());
      expect(attemptsOf(leased)).toEqual([1]);
      const [lastId] = await setup.publish(a, ["published-right-before-the-kill"]);
      expect(await a.proc.stop("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });

      const b = await startInstance(db);
      const arrivals = await pullUntil(b, subscription, ids.length + 1, 15_000);
      expect(sortedIds(arrivals.map((x) => x.message))).toEqual([...ids, lastId].sort());
      const late = arrivals.find((x) => idOf(x.message) === lastId);
      expect(late?.message.deliveryAttempt).toBe(1);
      expect(untext(late?.message.message?.data)).toBe("published-right-before-the-kill");
      const redelivered = arrivals.filter((x) => idOf(x.message) !== lastId);
      expect(attemptsOf(redelivered.map((x) => x.message))).toEqual([2]);
      // Not before the 10 s lease taken on A ran out.
      for (const x of redelivered) expect(x.atMs - pulledFromMs).toBeGreaterThanOrEqual(10_000);

      const stale = await b.subscriber.acknowledge({ subscription, ackIds: leased.map((m) => m.ackId) });
      expect(stale.invalidAckIds.sort()).toEqual(leased.map((m) => m.ackId).sort());
      const ack = await b.subscriber.acknowledge({
        subscription,
        ackIds: arrivals.map((x) => x.message.ackId),
      });
      expect(ack.invalidAckIds).toEqual([]);
      expect((await b.admin.getSubscription({ name: subscription })).messageCount).toBe(
        BigInt(ids.length + 1),
      );
    }, 30_000);

    it("ends an open stream with UNAVAILABLE on SIGTERM, exits 0, and gives its messages back uncounted", async () => {
      const a = await startInstance(db);
      const setup = await createPullSubscription(a, { ackDeadlineSeconds: 600 });
      const { subscription } = setup;
      const ids = await setup.publish(
        a,
        Array.from({ length: 10 }, (_, i) => `in-flight-${i}`),
      );
      const stream = subscribe(a, { subscription, maxOutstandingMessages: 100 });
      expect(sortedIds(await stream.waitForCount(ids.length, 10_000))).toEqual([...ids].sort());

      const [exit, streamError] = await Promise.all([a.proc.stop("SIGTERM"), stream.ended]);
      expect(codeName(streamError)).toBe("Unavailable");
      expect(exit).toEqual({ code: 0, signal: null });
      expect(stream.received).toHaveLength(ids.length);

      // Available at once (a Pull that does not wait), and the shutdown did not count an attempt.
      const b = await startInstance(db);
      const { receivedMessages } = await b.subscriber.pull({ subscription, maxMessages: 100 });
      expect(sortedIds(receivedMessages)).toEqual([...ids].sort());
      expect(attemptsOf(receivedMessages)).toEqual([1]);
      const ack = await b.subscriber.acknowledge({
        subscription,
        ackIds: receivedMessages.map((m) => m.ackId),
      });
      expect(ack.invalidAckIds).toEqual([]);
    });
  },
);
