import { describe, expect, it } from "vitest";
import type { MessageCursor, PrunePassBatch, RetentionRepository } from "../ports/retention-repository.js";
import type { Repositories, Store } from "../ports/store.js";
import { Retention } from "./retention.js";

const HOUR_MS = 3_600_000;
const NOW_MS = 1_717_171_717_123;

/**
 * An in-memory RetentionRepository following the port's contract: queue rows and messages are
 * walked as passes (examined rows bounded by `limit`), logs and dedup entries deleted oldest first.
 */
class FakeRetentionRepository implements RetentionRepository {
  queue: { id: bigint; createdAtMs: number; completedAtMs: number | null }[] = [];
  logs: number[] = [];
  messages: { id: bigint; createdAtMs: number; isReferenced: boolean }[] = [];
  dedupExpiries: number[] = [];
  calls: string[] = [];

  async pruneQueueItems(afterId: bigint, cutoffMs: number, limit: number): Promise<PrunePassBatch<bigint>> {
    this.calls.push(`queue after ${afterId} cutoff ${cutoffMs}`);
    const examined = this.queue.filter((r) => r.id > afterId).slice(0, limit);
    const frontier = examined.findIndex((r) => r.createdAtMs > cutoffMs);
    const before = frontier === -1 ? examined : examined.slice(0, frontier);
    const doomed = new Set(
      before.filter((r) => r.completedAtMs !== null && r.completedAtMs <= cutoffMs).map((r) => r.id),
    );
    this.queue = this.queue.filter((r) => !doomed.has(r.id));
    const last = before[before.length - 1];
    const next = frontier !== -1 || examined.length < limit || !last ? null : last.id;
    return { deleted: doomed.size, next };
  }

  async pruneNotificationLogs(cutoffMs: number, limit: number): Promise<number> {
    this.calls.push(`logs cutoff ${cutoffMs}`);
    const doomed = this.logs.filter((at) => at <= cutoffMs).slice(0, limit);
    this.logs = this.logs.filter((at) => !doomed.includes(at));
    return doomed.length;
  }

  async pruneMessages(
    after: MessageCursor | null,
    cutoffMs: number,
    limit: number,
  ): Promise<PrunePassBatch<MessageCursor>> {
    this.calls.push(`messages after ${after?.id ?? "start"}`);
    const examined = this.messages
      .filter((m) => m.createdAtMs <= cutoffMs && (after === null || m.id > after.id))
      .slice(0, limit);
    const doomed = new Set(examined.filter((m) => !m.isReferenced).map((m) => m.id));
    this.messages = this.messages.filter((m) => !doomed.has(m.id));
    const last = examined[examined.length - 1];
    const next = examined.length < limit || !last ? null : { createdAtMs: last.createdAtMs, id: last.id };
    return { deleted: doomed.size, next };
  }

  async pruneExpiredDedup(nowMs: number, limit: number): Promise<number> {
    this.calls.push(`dedup now ${nowMs}`);
    const doomed = this.dedupExpiries.filter((at) => at <= nowMs).slice(0, limit);
    this.dedupExpiries = this.dedupExpiries.filter((at) => !doomed.includes(at));
    return doomed.length;
  }
}

function fakeStore(retention: RetentionRepository): Store & { transactions: number } {
  // No snapshots here: their pruning is covered on real databases (test/storage/snapshots.test.ts).
  const repos = { retention, snapshots: { listExpiredIds: async () => [] } } as unknown as Repositories;
  return {
    kind: "sqlite",
    repos,
    transactions: 0,
    async transaction(work) {
      this.transactions += 1;
      return work(repos);
    },
    ping: async () => undefined,
    isUnavailable: () => false,
    close: async () => undefined,
  };
}

const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);

describe("Retention", () => {
  it("prunes with the cutoff now minus the retention, and dedup entries by their own expiry", async () => {
    const repo = new FakeRetentionRepository();
    repo.logs = [NOW_MS - 3 * HOUR_MS, NOW_MS - 2 * HOUR_MS, NOW_MS - HOUR_MS];
    repo.dedupExpiries = [NOW_MS - 1, NOW_MS, NOW_MS + 1];
    const result = await new Retention(fakeStore(repo), { retentionMs: 2 * HOUR_MS }).run(NOW_MS);
    expect(result).toEqual({
      queueItems: 0,
      notificationLogs: 2,
      messages: 0,
      dedupEntries: 2,
      snapshots: 0,
    });
    expect(repo.logs).toEqual([NOW_MS - HOUR_MS]);
    expect(repo.dedupExpiries).toEqual([NOW_MS + 1]);
    expect(repo.calls).toContain(`logs cutoff ${NOW_MS - 2 * HOUR_MS}`);
  });

  it("prunes queue rows before messages, so messages they free go in the same run", async () => {
    const repo = new FakeRetentionRepository();
    repo.queue = [{ id: 1n, createdAtMs: 0, completedAtMs: 0 }];
    repo.messages = [{ id: 1n, createdAtMs: 0, isReferenced: false }];
    await new Retention(fakeStore(repo), { retentionMs: HOUR_MS }).run(NOW_MS);
    expect(repo.calls.map((c) => c.split(" ")[0])).toEqual(["queue", "logs", "messages", "dedup"]);
  });

  it("commits every batch in its own transaction and stops a kind at its first short batch", async () => {
    const repo = new FakeRetentionRepository();
    repo.logs = range(25);
    const store = fakeStore(repo);
    const result = await new Retention(store, { retentionMs: 0, batchSize: 10 }).run(NOW_MS);
    expect(result.notificationLogs).toBe(25);
    // queue: 1 (empty pass), logs: 10 + 10 + 5, messages: 1, dedup: 1.
    expect(store.transactions).toBe(6);
  });

  it("runs at most maxBatchesPerRun batches per kind and prunes the rest on later runs", async () => {
    const repo = new FakeRetentionRepository();
    repo.logs = range(25);
    const retention = new Retention(fakeStore(repo), { retentionMs: 0, batchSize: 10, maxBatchesPerRun: 2 });
    expect((await retention.run(NOW_MS)).notificationLogs).toBe(20);
    expect((await retention.run(NOW_MS)).notificationLogs).toBe(5);
    expect(repo.logs).toEqual([]);
  });

  it("resumes a queue pass where the last run stopped, so rows it must keep cannot starve the rest", async () => {
    const repo = new FakeRetentionRepository();
    // 30 long-pending rows (never completed) ahead of 5 delivered ones.
    repo.queue = [
      ...range(30).map((i) => ({ id: BigInt(i), createdAtMs: 0, completedAtMs: null })),
      ...range(5, 31).map((i) => ({ id: BigInt(i), createdAtMs: 0, completedAtMs: 0 })),
    ];
    const retention = new Retention(fakeStore(repo), { retentionMs: 0, batchSize: 10, maxBatchesPerRun: 2 });
    expect((await retention.run(NOW_MS)).queueItems).toBe(0);
    expect((await retention.run(NOW_MS)).queueItems).toBe(5);
    expect(repo.queue).toHaveLength(30);
    // The pass ended, so the next run starts again from the beginning.
    await retention.run(NOW_MS);
    expect(repo.calls.filter((c) => c.startsWith("queue"))).toEqual([
      "queue after 0 cutoff 1717171717123",
      "queue after 10 cutoff 1717171717123",
      "queue after 20 cutoff 1717171717123",
      "queue after 30 cutoff 1717171717123",
      "queue after 0 cutoff 1717171717123",
      "queue after 10 cutoff 1717171717123",
    ]);
  });

  it("resumes a message pass across runs past messages still referenced", async () => {
    const repo = new FakeRetentionRepository();
    repo.messages = [
      ...range(20).map((i) => ({ id: BigInt(i), createdAtMs: 0, isReferenced: true })),
      ...range(3, 21).map((i) => ({ id: BigInt(i), createdAtMs: 0, isReferenced: false })),
    ];
    const retention = new Retention(fakeStore(repo), { retentionMs: 0, batchSize: 10, maxBatchesPerRun: 2 });
    expect((await retention.run(NOW_MS)).messages).toBe(0);
    expect((await retention.run(NOW_MS)).messages).toBe(3);
    expect(repo.messages.every((m) => m.isReferenced)).toBe(true);
  });

  it("keeps everything younger than the retention", async () => {
    const repo = new FakeRetentionRepository();
    repo.queue = [{ id: 1n, createdAtMs: NOW_MS - HOUR_MS, completedAtMs: NOW_MS - HOUR_MS }];
    repo.logs = [NOW_MS - HOUR_MS];
    repo.messages = [{ id: 1n, createdAtMs: NOW_MS - HOUR_MS, isReferenced: false }];
    const result = await new Retention(fakeStore(repo), { retentionMs: 2 * HOUR_MS }).run(NOW_MS);
    expect(result).toEqual({
      queueItems: 0,
      notificationLogs: 0,
      messages: 0,
      dedupEntries: 0,
      snapshots: 0,
    });
  });

  it("rejects a negative retention and an empty batch size", () => {
    const store = fakeStore(new FakeRetentionRepository());
    expect(() => new Retention(store, { retentionMs: -1 })).toThrow(RangeError);
    expect(() => new Retention(store, { retentionMs: 0, batchSize: 0 })).toThrow(RangeError);
  });
});
