/** Conformance of DedupRepository on every test database: live lookups, expiry, and the DEDUP_RACE collision. */
import { describe, expect, it } from "vitest";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createTopic,
  expectDomainError,
  messageToStore,
  NOW_MS,
  useConformanceStore,
} from "./conformance-setup.js";

const WINDOW_MS = 60_000;
const DEDUP_RACE = { kind: "failed_precondition", reason: "DEDUP_RACE" } as const;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("dedup on %s", (_kind, target) => {
  const store = useConformanceStore(target);

  /** A publisher and `count` stored messages of it. */
  async function publisherWithMessages(count: number) {
    const s = store();
    const publisher = await createPublisher(s);
    const topic = await createTopic(s);
    const ids = await s.repos.messages.insertMany(
      Array.from({ length: count }, () => messageToStore(topic.id, publisher.id)),
    );
    return { publisherId: publisher.id, ids: ids as [bigint, bigint, bigint, ...bigint[]] };
  }

  it("finds nothing for no ids or unknown ids", async () => {
    const { publisherId } = await publisherWithMessages(1);
    expect(await store().repos.dedup.findLive(publisherId, [], NOW_MS)).toEqual(new Map());
    expect(await store().repos.dedup.findLive(publisherId, ["unknown"], NOW_MS)).toEqual(new Map());
  });

  it("records entries and finds the live ones, mapping dedupId to messageId", async () => {
    const { publisherId, ids } = await publisherWithMessages(3);
    await store().repos.dedup.record(
      publisherId,
      [
        { dedupId: "a", messageId: ids[0] },
        { dedupId: "B ✓ ünïcode", messageId: ids[1] },
      ],
      NOW_MS,
      WINDOW_MS,
    );
    const found = await store().repos.dedup.findLive(publisherId, ["a", "B ✓ ünïcode", "c", "a"], NOW_MS + 1);
    expect(found).toEqual(
      new Map([
        ["a", ids[0]],
        ["B ✓ ünïcode", ids[1]],
      ]),
    );
    // Dedup ids are case-sensitive.
    expect(await store().repos.dedup.findLive(publisherId, ["A", "b ✓ ünïcode"], NOW_MS + 1)).toEqual(
      new Map(),
    );
  });

  it("returns only unexpired entries: an entry expires when nowMs reaches its expiry", async () => {
    const { publisherId, ids } = await publisherWithMessages(3);
    await store().repos.dedup.record(
      publisherId,
      [{ dedupId: "old", messageId: ids[0] }],
      NOW_MS - 1000,
      1000,
    );
    await store().repos.dedup.record(
      publisherId,
      [{ dedupId: "edge", messageId: ids[1] }],
      NOW_MS - 1000,
      1001,
    );
    await store().repos.dedup.record(publisherId, [{ dedupId: "new", messageId: ids[2] }], NOW_MS, WINDOW_MS);
    const found = await store().repos.dedup.findLive(publisherId, ["old", "edge", "new"], NOW_MS);
    expect(found).toEqual(
      new Map([
        ["edge", ids[1]],
        ["new", ids[2]],
      ]),
    );
    expect(await store().repos.dedup.findLive(publisherId, ["edge"], NOW_MS + 1)).toEqual(new Map());
  });

  it("treats dedup ids that differ only by trailing spaces as distinct", async () => {
    const { publisherId, ids } = await publisherWithMessages(3);
    await store().repos.dedup.record(publisherId, [{ dedupId: "pad", messageId: ids[0] }], NOW_MS, WINDOW_MS);
    // Only the asked-for id may come back: "pad " was never recorded.
    expect(await store().repos.dedup.findLive(publisherId, ["pad "], NOW_MS)).toEqual(new Map());
    await store().repos.dedup.record(
      publisherId,
      [
        { dedupId: "pad ", messageId: ids[1] },
        { dedupId: "pad  ", messageId: ids[2] },
      ],
      NOW_MS,
      WINDOW_MS,
    );
    expect(await store().repos.dedup.findLive(publisherId, ["pad", "pad ", "pad  "], NOW_MS)).toEqual(
      new Map([
        ["pad", ids[0]],
        ["pad ", ids[1]],
        ["pad  ", ids[2]],
      ]),
    );
  });

  it("keeps dedup ids per publisher", async () => {
    const first = await publisherWithMessages(1);
    const second = await publisherWithMessages(1);
    await store().repos.dedup.record(
      first.publisherId,
      [{ dedupId: "same", messageId: first.ids[0] }],
      NOW_MS,
      WINDOW_MS,
    );
    expect(await store().repos.dedup.findLive(second.publisherId, ["same"], NOW_MS)).toEqual(new Map());
    await store().repos.dedup.record(
      second.publisherId,
      [{ dedupId: "same", messageId: second.ids[0] }],
      NOW_MS,
      WINDOW_MS,
    );
    expect(await store().repos.dedup.findLive(first.publisherId, ["same"], NOW_MS)).toEqual(
      new Map([["same", first.ids[0]]]),
    );
    expect(await store().repos.dedup.findLive(second.publisherId, ["same"], NOW_MS)).toEqual(
      new Map([["same", second.ids[0]]]),
    );
  });

  it("does nothing when recording no entries", async () => {
    const { publisherId } = await publisherWithMessages(1);
    await expect(store().repos.dedup.record(publisherId, [], NOW_MS, WINDOW_MS)).resolves.toBeUndefined();
  });

  it("throws DEDUP_RACE when another transaction records a live id again, keeping the first entry", async () => {
    const { publisherId, ids } = await publisherWithMessages(3);
    await store().repos.dedup.record(
      publisherId,
      [{ dedupId: "race", messageId: ids[0] }],
      NOW_MS,
      WINDOW_MS,
    );
    await expectDomainError(
      store().transaction((repos) =>
        repos.dedup.record(
          publisherId,
          [
            { dedupId: "fresh", messageId: ids[2] },
            { dedupId: "race", messageId: ids[1] },
          ],
          NOW_MS + 1,
          WINDOW_MS,
        ),
      ),
      DEDUP_RACE,
    );
    const found = await store().repos.dedup.findLive(publisherId, ["race", "fresh"], NOW_MS + 2);
    expect(found).toEqual(new Map([["race", ids[0]]]));
  });

  it("throws DEDUP_RACE in the later of two overlapping transactions recording the same id", async () => {
    const { publisherId, ids } = await publisherWithMessages(2);
    let later: Promise<void> | undefined;
    await store().transaction(async (repos) => {
      await repos.dedup.record(publisherId, [{ dedupId: "overlap", messageId: ids[0] }], NOW_MS, WINDOW_MS);
      // Started while the first holds its uncommitted row: it waits (row lock, or SQLite's one
      // connection) and collides once the first commits. Caught here so it cannot go unhandled.
      later = store().transaction((other) =>
        other.dedup.record(publisherId, [{ dedupId: "overlap", messageId: ids[1] }], NOW_MS + 1, WINDOW_MS),
      );
      later.catch(() => undefined);
    });
    await expectDomainError(later ?? Promise.resolve(), DEDUP_RACE);
    expect(await store().repos.dedup.findLive(publisherId, ["overlap"], NOW_MS + 2)).toEqual(
      new Map([["overlap", ids[0]]]),
    );
  });

  it("replaces an expired entry when the id is recorded again", async () => {
    const { publisherId, ids } = await publisherWithMessages(2);
    await store().repos.dedup.record(publisherId, [{ dedupId: "reuse", messageId: ids[0] }], NOW_MS, 1000);
    await store().repos.dedup.record(
      publisherId,
      [{ dedupId: "reuse", messageId: ids[1] }],
      NOW_MS + 1000,
      WINDOW_MS,
    );
    expect(await store().repos.dedup.findLive(publisherId, ["reuse"], NOW_MS + 1000)).toEqual(
      new Map([["reuse", ids[1]]]),
    );
    expect(await store().repos.dedup.findLive(publisherId, ["reuse"], NOW_MS + 1000 + WINDOW_MS - 1)).toEqual(
      new Map([["reuse", ids[1]]]),
    );
    expect(await store().repos.dedup.findLive(publisherId, ["reuse"], NOW_MS + 1000 + WINDOW_MS)).toEqual(
      new Map(),
    );
  });
});
