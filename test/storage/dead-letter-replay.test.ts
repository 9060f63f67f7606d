/**
 * Replay and purge of dead letters on every test database: concurrent replays enqueue each dead
 * letter once (before the fix three replays of 200 on MySQL queued 600), a bulk operation by filter
 * covers only the dead letters that existed when it started, and it stops when its caller cancels.
 */
import { describe, expect, it } from "vitest";
import { DeadLetterAdmin } from "../../src/app/dead-letters/dead-letter-admin.js";
import type { Store } from "../../src/app/ports/store.js";
import { FakeClock } from "../../src/domain/clock.js";
import type { Subscription } from "../../src/domain/subscription.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  deadLetterItems,
  messageToStore,
  NOW_MS,
  useConformanceStore,
} from "./conformance-setup.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "dead-letter replay on %s",
  (_k, target) => {
    const store = useConformanceStore(target);
    const clock = new FakeClock(NOW_MS + 10_000);

    /** A subscription with `count` dead letters (MAX_ATTEMPTS); `more(n)` dead-letters n further messages. */
    async function withDeadLetters(count: number) {
      const s = store();
      const topic = await createTopic(s);
      const publisher = await createPublisher(s);
      const subscriber = await createSubscriber(s);
      const sub = await createSubscription(s, { topicId: topic.id, subscriberId: subscriber.id });
      const more = async (n: number) => {
        const messageIds = await s.repos.messages.insertMany(
          Array.from({ length: n }, () => messageToStore(topic.id, publisher.id)),
        );
        await s.repos.queue.fanOut(messageIds, NOW_MS);
        const rows = (await Promise.all(messageIds.map((id) => s.repos.queue.listByMessage(id)))).flat();
        await deadLetterItems(
          s,
          rows.map((r) => r.id),
          NOW_MS,
          { attemptCount: 5, lastError: "boom", firstAttemptAtMs: NOW_MS, lastAttemptAtMs: NOW_MS },
        );
      };
      await more(count);
      return { sub, more };
    }

    async function queuedRows(sub: Subscription): Promise<number> {
      const letters = await store().repos.deadLetters.listBySubscription(sub.id);
      const rows = (
        await Promise.all(letters.map((d) => store().repos.queue.listByMessage(d.messageId)))
      ).flat();
      return rows.filter((r) => r.subscriptionId === sub.id && r.status === "pending").length;
    }

    /** The store, with `afterCommit` run after each transaction (to act between a bulk operation's batches). */
    function between(afterCommit: (n: number) => Promise<void> | void): Store {
      const s = store();
      let n = 0;
      return new Proxy(s, {
        get(target, prop, receiver) {
          if (prop !== "transaction") return Reflect.get(target, prop, receiver);
          return async <T>(work: Parameters<Store["transaction"]>[0]) => {
            const result = (await target.transaction(work)) as T;
            await afterCommit(++n);
            return result;
          };
        },
      });
    }

    it("enqueues each dead letter once under three concurrent replays by filter", async () => {
      const { sub } = await withDeadLetters(200);
      const admin = new DeadLetterAdmin(store(), clock);
      const replay = () =>
        admin.replay({
          ids: [],
          filter: { subscription: sub.name, failureReason: "" },
          force: false,
          resolvedBy: "t",
        });
      const counts = await Promise.all([replay(), replay(), replay()]);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(200);
      expect(await queuedRows(sub)).toBe(200);
    });

    it("enqueues each dead letter once under three concurrent replays by ids", async () => {
      const { sub } = await withDeadLetters(200);
      const ids = (await store().repos.deadLetters.listBySubscription(sub.id)).map((d) => d.id);
      const admin = new DeadLetterAdmin(store(), clock);
      const replay = () => admin.replay({ ids, filter: undefined, force: false, resolvedBy: "t" });
      const results = await Promise.allSettled([replay(), replay(), replay()]);
      const replayed = results.map((r) => (r.status === "fulfilled" ? r.value : 0));
      expect(replayed.reduce((a, b) => a + b, 0)).toBe(200);
      for (const r of results) {
        if (r.status === "rejected") expect(r.reason).toMatchObject({ reason: "ALREADY_RESOLVED" });
      }
      expect(await queuedRows(sub)).toBe(200);
    });

    it("replays by filter only the dead letters that existed when it started", async () => {
      const { sub, more } = await withDeadLetters(30);
      // Between batches, replayed messages "fail again": new dead letters appear behind the cursor's end.
      const admin = new DeadLetterAdmin(
        between((n) => (n <= 5 ? more(1) : undefined)),
        clock,
        10,
      );
      const replayed = await admin.replay({
        ids: [],
        filter: { subscription: sub.name, failureReason: "" },
        force: false,
        resolvedBy: "t",
      });
      expect(replayed).toBe(30);
      const unresolved = (await store().repos.deadLetters.listBySubscription(sub.id)).filter(
        (d) => !d.isResolved,
      );
      expect(unresolved.length).toBeGreaterThan(0);
    });

    it("stops a replay by filter between batches when its caller cancels", async () => {
      const { sub } = await withDeadLetters(30);
      const cancel = new AbortController();
      const admin = new DeadLetterAdmin(
        between(() => cancel.abort()),
        clock,
        10,
      );
      await expect(
        admin.replay({
          ids: [],
          filter: { subscription: sub.name, failureReason: "" },
          force: false,
          resolvedBy: "t",
          signal: cancel.signal,
        }),
      ).rejects.toThrow();
      expect(await queuedRows(sub)).toBe(10);
    });

    /** The store, with `afterBatch` run after each purge batch. */
    function betweenPurges(afterBatch: (n: number) => Promise<void> | void): Store {
      const s = store();
      let n = 0;
      const admin = new Proxy(s.repos.deadLetterAdmin, {
        get(target, prop, receiver) {
          if (prop !== "purgeBatch") return Reflect.get(target, prop, receiver);
          return async (...args: Parameters<typeof target.purgeBatch>) => {
            const purged = await target.purgeBatch(...args);
            await afterBatch(++n);
            return purged;
          };
        },
      });
      const repos = new Proxy(s.repos, {
        get: (target, prop, receiver) =>
          prop === "deadLetterAdmin" ? admin : Reflect.get(target, prop, receiver),
      });
      return new Proxy(s, {
        get: (target, prop, receiver) => (prop === "repos" ? repos : Reflect.get(target, prop, receiver)),
      });
    }

    const purgeAll = (sub: Subscription, signal?: AbortSignal) => ({
      olderThanMs: NOW_MS + 1,
      includeUnresolved: true,
      subscription: sub.name,
      ...(signal ? { signal } : {}),
    });

    it("purges only the dead letters that existed when it started", async () => {
      const { sub, more } = await withDeadLetters(25);
      const admin = new DeadLetterAdmin(
        betweenPurges((n) => (n <= 3 ? more(1) : undefined)),
        clock,
        500,
        10,
      );
      expect(await admin.purge(purgeAll(sub))).toBe(25);
      expect(await store().repos.deadLetters.listBySubscription(sub.id)).toHaveLength(3);
    });

    it("stops a purge between batches when its caller cancels", async () => {
      const { sub } = await withDeadLetters(25);
      const cancel = new AbortController();
      const admin = new DeadLetterAdmin(
        betweenPurges(() => cancel.abort()),
        clock,
        500,
        10,
      );
      await expect(admin.purge(purgeAll(sub, cancel.signal))).rejects.toThrow();
      expect(await store().repos.deadLetters.listBySubscription(sub.id)).toHaveLength(15);
    });
  },
);
