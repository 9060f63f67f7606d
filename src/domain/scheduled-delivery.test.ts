import { describe, expect, it } from "vitest";
import { DomainError } from "./domain-error.js";
import { MAX_SCHEDULE_AHEAD_MS, scheduledDeliveryAtMs } from "./scheduled-delivery.js";

const NOW = 1_800_000_000_000;

describe("scheduledDeliveryAtMs", () => {
  it("treats an unset time as now", () => {
    expect(scheduledDeliveryAtMs("deliver_at", undefined, NOW)).toBeUndefined();
  });

  it("treats a time in the past or exactly now as now", () => {
    expect(scheduledDeliveryAtMs("deliver_at", NOW - 60_000, NOW)).toBeUndefined();
    expect(scheduledDeliveryAtMs("deliver_at", NOW, NOW)).toBeUndefined();
  });

  it("keeps a future time up to 31 days ahead", () => {
    expect(scheduledDeliveryAtMs("deliver_at", NOW + 1, NOW)).toBe(NOW + 1);
    expect(scheduledDeliveryAtMs("deliver_at", NOW + MAX_SCHEDULE_AHEAD_MS, NOW)).toBe(
      NOW + MAX_SCHEDULE_AHEAD_MS,
    );
  });

  it("rejects a time more than 31 days ahead, naming the field", () => {
    let error: unknown;
    try {
      scheduledDeliveryAtMs("messages[2].deliver_at", NOW + MAX_SCHEDULE_AHEAD_MS + 1, NOW);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).kind).toBe("invalid_argument");
    expect((error as DomainError).message).toContain("messages[2].deliver_at");
  });
});
