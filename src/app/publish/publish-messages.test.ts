import { describe, expect, it } from "vitest";
import { FakeClock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import type { OutgoingMessage } from "../../domain/message.js";
import type { MessageToStore } from "../ports/message-repository.js";
import { commitOutcomeUnknown, type Repositories, type Store } from "../ports/store.js";
import { PublishMessages } from "./publish-messages.js";
import type { PublishQueueLimits } from "./publish-queue.js";

/** A database stall the test ends: every transaction waits for `release()`. */
class StalledStore {
  readonly inserted: MessageToStore[][] = [];
  transactions = 0;
  /** What the next transactions throw instead of committing (consumed one per transaction). */
  readonly failures: unknown[] = [];
  private gate = deferred();
  private nextId = 1n;

  readonly store: Store = {
    kind: "sqlite",
    repos: {
      publishers: {
        findByCode: async (code: string) => ({ id: 7n, code, name: code, description: "", isActive: true }),
      },
      topics: {
        findByCode: async (code: string) => ({ id: 9n, code, name: code, description: "", isActive: true }),
      },
    } as unknown as Repositories,
    transaction: async <T>(work: (repos: Repositories) => Promise<T>): Promise<T> => {
      this.transactions += 1;
      await this.gate.promise;
      const failure = this.failures.shift();
      if (failure !== undefined) throw failure;
      return work(this.transactionRepos());
    },
    ping: async () => undefined,
    isUnavailable: (error) => error instanceof Error && error.message === "connect ECONNREFUSED",
    close: async () => undefined,
  };

  /** Ends the stall: waiting and later transactions run at once. */
  release(): void {
    this.gate.resolve();
  }

  private transactionRepos(): Repositories {
    return {
      messages: {
        insertMany: async (messages: readonly MessageToStore[]) => {
          this.inserted.push([...messages]);
          return messages.map(() => this.nextId++);
        },
      },
      dedup: { findLive: async () => new Map(), record: async () => undefined },
      queue: { fanOut: async () => 0, listFilteredTargets: async () => [], fanOutTo: async () => 0 },
    } as unknown as Repositories;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets queued microtasks and immediate callbacks run (lookups, queueing), without a timer. Two event-loop turns: the group commit waits one turn before taking a batch, so queued calls can join it. */
const settle = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

function messages(count: number, bytesEach = 10, label = "m"): OutgoingMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    data: new TextEncoder().encode(`${label}${i}`.padEnd(bytesEach, ".")),
    attributes: {},
    orderingKey: "",
    identifier: "",
    dedupId: "",
  }));
}

function publishing(db: StalledStore, limits: PublishQueueLimits = { maxMessages: 1000, maxBytes: 1 << 20 }) {
  return new PublishMessages(db.store, new FakeClock(), 60_000, undefined, limits);
}

/** The promise's outcome: "ok", or the rejection's DomainError reason / error message. */
async function outcomeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (error) {
    if (error instanceof DomainError) return `${error.kind}:${error.reason}`;
    return error instanceof Error ? error.message : String(error);
  }
}

const dataOf = (rows: MessageToStore[][]) => rows.flat().map((m) => new TextDecoder().decode(m.data));

describe("PublishMessages during a database stall", () => {
  it("refuses a publish with RESOURCE_EXHAUSTED once the queued messages would pass the bound, and commits the queued ones when the stall ends", async () => {
    const db = new StalledStore();
    const pub = publishing(db, { maxMessages: 100, maxBytes: 1 << 20 });
    const first = pub.publish({ publisher: "p", topic: "t", messages: messages(60, 10, "a") });
    await settle();
    const second = pub.publish({ publisher: "p", topic: "t", messages: messages(40, 10, "b") });
    await settle();
    const refused = outcomeOf(pub.publish({ publisher: "p", topic: "t", messages: messages(1, 10, "c") }));
    expect(await refused).toBe("resource_exhausted:PUBLISH_QUEUE_FULL");

    db.release();
    expect(await outcomeOf(first)).toBe("ok");
    expect(await outcomeOf(second)).toBe("ok");
    expect(dataOf(db.inserted).some((d) => d.startsWith("c"))).toBe(false);
    // Room again once the batches committed.
    expect(await outcomeOf(pub.publish({ publisher: "p", topic: "t", messages: messages(1) }))).toBe("ok");
  });

  it("bounds the queue by payload bytes too", async () => {
    const db = new StalledStore();
    const pub = publishing(db, { maxMessages: 1000, maxBytes: 1000 });
    const first = pub.publish({ publisher: "p", topic: "t", messages: messages(1, 600) });
    await settle();
    const refused = pub.publish({ publisher: "p", topic: "t", messages: messages(1, 600) });
    expect(await outcomeOf(refused)).toBe("resource_exhausted:PUBLISH_QUEUE_FULL");
    const fits = pub.publish({ publisher: "p", topic: "t", messages: messages(1, 300) });
    db.release();
    expect([await outcomeOf(first), await outcomeOf(fits)]).toEqual(["ok", "ok"]);
  });

  it("accepts one publish larger than the bounds when nothing else is queued", async () => {
    const db = new StalledStore();
    const pub = publishing(db, { maxMessages: 10, maxBytes: 100 });
    const big = pub.publish({ publisher: "p", topic: "t", messages: messages(20, 50) });
    db.release();
    expect(await outcomeOf(big)).toBe("ok");
  });

  it("drops a queued publish whose caller gave up before its group commit, and frees its room", async () => {
    const db = new StalledStore();
    const pub = publishing(db, { maxMessages: 10, maxBytes: 1 << 20 });
    const first = pub.publish({ publisher: "p", topic: "t", messages: messages(2, 10, "first") });
    await settle();
    const caller = new AbortController();
    const abandoned = pub.publish(
      { publisher: "p", topic: "t", messages: messages(8, 10, "gone") },
      caller.signal,
    );
    await settle();
    expect(await outcomeOf(pub.publish({ publisher: "p", topic: "t", messages: messages(1) }))).toBe(
      "resource_exhausted:PUBLISH_QUEUE_FULL",
    );
    caller.abort(new Error("deadline exceeded"));
    expect(await outcomeOf(abandoned)).toBe("deadline exceeded");
    const after = pub.publish({ publisher: "p", topic: "t", messages: messages(8, 10, "after") });

    db.release();
    expect([await outcomeOf(first), await outcomeOf(after)]).toEqual(["ok", "ok"]);
    expect(dataOf(db.inserted).filter((d) => d.startsWith("gone"))).toEqual([]);
    expect(dataOf(db.inserted).filter((d) => d.startsWith("after"))).toHaveLength(8);
  });

  it("never stores a publish whose signal was already aborted", async () => {
    const db = new StalledStore();
    const pub = publishing(db);
    const caller = new AbortController();
    caller.abort(new Error("cancelled"));
    db.release();
    expect(
      await outcomeOf(pub.publish({ publisher: "p", topic: "t", messages: messages(1) }, caller.signal)),
    ).toBe("cancelled");
    expect(db.transactions).toBe(0);
  });
});

describe("PublishMessages after a failed group commit", () => {
  /** Three calls queued behind a first one, so that they share one transaction. */
  async function sharedBatch(db: StalledStore, failure: unknown) {
    const pub = publishing(db);
    const first = pub.publish({ publisher: "p", topic: "t", messages: messages(1, 10, "first") });
    await settle();
    const shared = ["x", "y", "z"].map((label) =>
      pub.publish({ publisher: "p", topic: "t", messages: messages(1, 10, label) }),
    );
    await settle();
    db.failures.push(undefined, failure);
    db.release();
    expect(await outcomeOf(first)).toBe("ok");
    return Promise.all(shared.map(outcomeOf));
  }

  it("does not retry one by one when the commit's outcome is unknown (the retry could duplicate the messages)", async () => {
    const db = new StalledStore();
    const outcomes = await sharedBatch(db, commitOutcomeUnknown());
    expect(outcomes).toEqual(Array(3).fill("unavailable:COMMIT_OUTCOME_UNKNOWN"));
    expect(db.transactions).toBe(2);
    expect(dataOf(db.inserted)).toEqual(["first0...."]);
  });

  it("does not retry one by one when the database is unreachable", async () => {
    const db = new StalledStore();
    const outcomes = await sharedBatch(db, new Error("connect ECONNREFUSED"));
    expect(outcomes).toEqual(Array(3).fill("connect ECONNREFUSED"));
    expect(db.transactions).toBe(2);
  });

  it("retries each call alone after any other failure, so one call's failure is not another's", async () => {
    const db = new StalledStore();
    const outcomes = await sharedBatch(db, new Error("a statement failed"));
    expect(outcomes).toEqual(["ok", "ok", "ok"]);
    expect(db.transactions).toBe(5);
  });
});
