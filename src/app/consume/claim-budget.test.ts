import { describe, expect, it } from "vitest";
import { takeWithinBudget } from "./claim-budget.js";

const sized = (...sizes: number[]) => sizes.map((sizeBytes, i) => ({ i, sizeBytes }));

describe("takeWithinBudget", () => {
  it("takes candidates in order while their total fits", () => {
    const { taken, heldBackSizeBytes } = takeWithinBudget(sized(40, 40, 40, 10), {
      maxBytes: 100,
      firstMaxBytes: 100,
    });
    expect(taken.map((c) => c.i)).toEqual([0, 1]);
    expect(heldBackSizeBytes).toBe(40);
  });

  it("stops at the first candidate that does not fit rather than skipping to a smaller one", () => {
    const { taken } = takeWithinBudget(sized(60, 60, 1), { maxBytes: 100, firstMaxBytes: 100 });
    expect(taken.map((c) => c.i)).toEqual([0]);
  });

  it("lets one oversized candidate travel alone when firstMaxBytes allows it", () => {
    const { taken, heldBackSizeBytes } = takeWithinBudget(sized(500, 10), {
      maxBytes: 100,
      firstMaxBytes: Number.POSITIVE_INFINITY,
    });
    expect(taken.map((c) => c.i)).toEqual([0]);
    expect(heldBackSizeBytes).toBe(10);
  });

  it("takes nothing when even the first candidate exceeds both bounds", () => {
    const { taken, heldBackSizeBytes } = takeWithinBudget(sized(100, 10), {
      maxBytes: 50,
      firstMaxBytes: 50,
    });
    expect(taken).toEqual([]);
    expect(heldBackSizeBytes).toBe(100);
  });

  it("reports nothing held back when every candidate fits", () => {
    expect(
      takeWithinBudget(sized(1, 2, 3), { maxBytes: 10, firstMaxBytes: 10 }).heldBackSizeBytes,
    ).toBeUndefined();
  });
});
