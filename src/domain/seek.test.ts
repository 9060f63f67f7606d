import { describe, expect, it } from "vitest";
import { retainedSinceMs, seekOutcome } from "./seek.js";

const T = 1_000_000;
const retained = { timeMs: T, retainedSinceMs: 0 };
const notRetained = { timeMs: T, retainedSinceMs: Number.POSITIVE_INFINITY };

describe("seekOutcome", () => {
  it("acks every unfinished message published before the time", () => {
    for (const status of ["pending", "leased", "failed"] as const)
      expect(seekOutcome(status, T - 1, retained)).toBe("ack");
  });

  it("keeps acked and dead-lettered messages published before the time as they are", () => {
    expect(seekOutcome("sent", T - 1, retained)).toBe("keep");
    expect(seekOutcome("dead_lettered", T - 1, retained)).toBe("keep");
  });

  it("makes leased and retrying messages published at or after the time deliverable again", () => {
    expect(seekOutcome("leased", T, notRetained)).toBe("unack");
    expect(seekOutcome("failed", T + 1, notRetained)).toBe("unack");
    expect(seekOutcome("pending", T + 1, notRetained)).toBe("keep");
  });

  it("restores acked messages published after the time only while they are retained", () => {
    expect(seekOutcome("sent", T + 1, retained)).toBe("restore");
    expect(seekOutcome("sent", T + 1, notRetained)).toBe("keep");
    expect(seekOutcome("sent", T + 1, { timeMs: T, retainedSinceMs: T + 2 })).toBe("keep");
    expect(seekOutcome("dead_lettered", T + 1, retained)).toBe("keep");
  });
});

describe("retainedSinceMs", () => {
  const NOW = 10_000_000;
  it("is the longer of the subscription's and the topic's retention", () => {
    expect(retainedSinceMs(NOW, { retainAckedMessages: true, messageTtlMs: 1_000 }, 5_000)).toBe(NOW - 5_000);
    expect(retainedSinceMs(NOW, { retainAckedMessages: true, messageTtlMs: 9_000 }, 5_000)).toBe(NOW - 9_000);
    expect(retainedSinceMs(NOW, { retainAckedMessages: false, messageTtlMs: 9_000 }, 5_000)).toBe(
      NOW - 5_000,
    );
  });

  it("retains nothing when neither the subscription nor the topic keeps acked messages", () => {
    expect(retainedSinceMs(NOW, { retainAckedMessages: false, messageTtlMs: 9_000 }, 0)).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});
