import { describe, expect, it } from "vitest";
import { FakeClock } from "./clock.js";
import {
  isSnapshotExpired,
  SNAPSHOT_MAX_LIFETIME_MS,
  snapshotExpireAtMs,
  snapshotSeekOutcome,
  validateSnapshotExpireAt,
  validateSnapshotLabels,
} from "./snapshot.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("snapshotExpireAtMs", () => {
  const clock = new FakeClock(Date.UTC(2026, 5, 1));

  it("expires 7 days after creation when the backlog was empty", () => {
    const now = clock.nowMs();
    expect(snapshotExpireAtMs(now, undefined, { subscriptionMs: DAY, topicMs: 0 })).toBe(now + 7 * DAY);
  });

  it("expires when the oldest unacked message would leave the subscription's retention", () => {
    const now = clock.nowMs();
    const oldest = now - 5 * DAY;
    expect(snapshotExpireAtMs(now, oldest, { subscriptionMs: 7 * DAY, topicMs: 0 })).toBe(now + 2 * DAY);
  });

  it("counts the topic's retention when it is the longer one", () => {
    const now = clock.nowMs();
    const oldest = now - HOUR;
    expect(snapshotExpireAtMs(now, oldest, { subscriptionMs: 2 * HOUR, topicMs: 3 * HOUR })).toBe(
      now + 2 * HOUR,
    );
  });

  it("never lasts longer than 7 days, however long the retention", () => {
    const now = clock.nowMs();
    expect(snapshotExpireAtMs(now, now, { subscriptionMs: 7 * DAY, topicMs: 31 * DAY })).toBe(
      now + SNAPSHOT_MAX_LIFETIME_MS,
    );
  });

  it("is expired from its expire time on, by the clock", () => {
    const created = clock.nowMs();
    const snapshot = {
      expireAtMs: snapshotExpireAtMs(created, created - HOUR, { subscriptionMs: 2 * HOUR, topicMs: 0 }),
    };
    expect(isSnapshotExpired(snapshot, clock.nowMs())).toBe(false);
    clock.advanceMs(HOUR - 1);
    expect(isSnapshotExpired(snapshot, clock.nowMs())).toBe(false);
    clock.advanceMs(1);
    expect(isSnapshotExpired(snapshot, clock.nowMs())).toBe(true);
  });
});

describe("validateSnapshotExpireAt", () => {
  const created = Date.UTC(2026, 5, 1);
  it("accepts a future time within 7 days of creation", () => {
    expect(() =>
      validateSnapshotExpireAt("expire_time", created + DAY, { createdAtMs: created }, created),
    ).not.toThrow();
  });
  it("refuses a past time and one beyond 7 days, naming the field", () => {
    expect(() => validateSnapshotExpireAt("expire_time", created, { createdAtMs: created }, created)).toThrow(
      /expire_time: must be in the future/,
    );
    expect(() =>
      validateSnapshotExpireAt("expire_time", created + 7 * DAY + 1, { createdAtMs: created }, created),
    ).toThrow(/expire_time: must be at most 7 days/);
  });
});

describe("validateSnapshotLabels", () => {
  it("accepts Pub/Sub-style labels and refuses bad keys, values and too many", () => {
    expect(() => validateSnapshotLabels("labels", { env: "prod", "team_a-1": "" })).not.toThrow();
    expect(() => validateSnapshotLabels("labels", { Env: "x" })).toThrow(/labels: keys/);
    expect(() => validateSnapshotLabels("labels", { env: "X" })).toThrow(/labels: values/);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    expect(() => validateSnapshotLabels("labels", many)).toThrow(/at most 64 labels/);
  });
});

describe("snapshotSeekOutcome", () => {
  it("makes held messages unacked: leased and retrying ones requeued, acked ones restored", () => {
    expect(snapshotSeekOutcome("leased", true)).toBe("unack");
    expect(snapshotSeekOutcome("failed", true)).toBe("unack");
    expect(snapshotSeekOutcome("sent", true)).toBe("restore");
    expect(snapshotSeekOutcome("pending", true)).toBe("keep");
  });
  it("acks every unfinished message the snapshot does not hold and keeps acked ones", () => {
    for (const status of ["pending", "leased", "failed"] as const)
      expect(snapshotSeekOutcome(status, false)).toBe("ack");
    expect(snapshotSeekOutcome("sent", false)).toBe("keep");
  });
  it("keeps dead-lettered messages either way", () => {
    expect(snapshotSeekOutcome("dead_lettered", true)).toBe("keep");
    expect(snapshotSeekOutcome("dead_lettered", false)).toBe("keep");
  });
});
