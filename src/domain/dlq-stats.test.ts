import { describe, expect, it } from "vitest";
import { FakeClock } from "./clock.js";
import { emptyDlqStats } from "./dlq-stats.js";

describe("emptyDlqStats", () => {
  it("reports zero items, zero ages and no top reason, stamped with the given time", () => {
    const nowMs = new FakeClock().nowMs();
    expect(emptyDlqStats(nowMs)).toEqual({
      totalItems: 0,
      unresolvedItems: 0,
      resolvedItems: 0,
      oldestItemAgeSeconds: 0,
      newestItemAgeSeconds: 0,
      topFailureReason: null,
      lastUpdatedMs: nowMs,
    });
  });

  it("returns a fresh object each time", () => {
    const a = emptyDlqStats(1);
    a.totalItems = 5;
    expect(emptyDlqStats(1).totalItems).toBe(0);
  });
});
