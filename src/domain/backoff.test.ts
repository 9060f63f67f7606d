import { describe, expect, it } from "vitest";
import { computeBackoffMs } from "./backoff.js";

const middle = () => 0.5; // no jitter: factor exactly 1
const lowest = () => 0; // factor 1 - ratio
const highest = () => 0.999_999_999; // factor just under 1 + ratio

const bounds = { minBackoffMs: 1000, maxBackoffMs: 60_000 };

describe("computeBackoffMs", () => {
  it("waits the minimum backoff after the first failure", () => {
    expect(computeBackoffMs({ attempt: 1, ...bounds, random: middle })).toBe(1000);
  });

  it("doubles the delay with each attempt", () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) => computeBackoffMs({ attempt, ...bounds, random: middle }));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000]);
  });

  it("caps the delay at the maximum backoff", () => {
    expect(computeBackoffMs({ attempt: 10, ...bounds, random: middle })).toBe(60_000);
  });

  it("treats attempt zero and negative attempts as the first attempt", () => {
    expect(computeBackoffMs({ attempt: 0, ...bounds, random: middle })).toBe(1000);
    expect(computeBackoffMs({ attempt: -3, ...bounds, random: middle })).toBe(1000);
  });

  it("treats a NaN attempt as the first attempt", () => {
    expect(computeBackoffMs({ attempt: Number.NaN, ...bounds, random: middle })).toBe(1000);
  });

  it("does not overflow for huge attempt numbers", () => {
    for (const attempt of [1024, 5000, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      expect(computeBackoffMs({ attempt, ...bounds, random: middle })).toBe(60_000);
    }
  });

  it("stays at zero for a zero minimum and huge attempts", () => {
    expect(computeBackoffMs({ attempt: 5000, minBackoffMs: 0, maxBackoffMs: 0, random: middle })).toBe(0);
  });

  it("subtracts up to the jitter ratio", () => {
    expect(computeBackoffMs({ attempt: 3, ...bounds, random: lowest })).toBe(3200);
  });

  it("adds up to the jitter ratio", () => {
    expect(computeBackoffMs({ attempt: 3, ...bounds, random: highest })).toBe(4800);
  });

  it("uses the given jitter ratio", () => {
    expect(computeBackoffMs({ attempt: 3, ...bounds, jitterRatio: 0.5, random: lowest })).toBe(2000);
  });

  it("never goes below the minimum when jitter subtracts", () => {
    expect(computeBackoffMs({ attempt: 1, ...bounds, random: lowest })).toBe(1000);
  });

  it("never goes above the maximum when jitter adds", () => {
    expect(computeBackoffMs({ attempt: 20, ...bounds, random: highest })).toBe(60_000);
  });

  it("keeps every result within the bounds for any random value", () => {
    for (let attempt = 1; attempt <= 30; attempt++) {
      for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999]) {
        const ms = computeBackoffMs({ attempt, ...bounds, jitterRatio: 1, random: () => r });
        expect(ms).toBeGreaterThanOrEqual(1000);
        expect(ms).toBeLessThanOrEqual(60_000);
      }
    }
  });

  it("returns whole milliseconds", () => {
    const ms = computeBackoffMs({ attempt: 2, minBackoffMs: 333, maxBackoffMs: 10_000, random: () => 0.123 });
    expect(Number.isInteger(ms)).toBe(true);
  });

  it("clamps a random source that strays outside [0, 1)", () => {
    expect(computeBackoffMs({ attempt: 3, ...bounds, random: () => 7 })).toBe(4800);
  });

  it("rejects a maximum below the minimum", () => {
    expect(() => computeBackoffMs({ attempt: 1, minBackoffMs: 10, maxBackoffMs: 5 })).toThrow(RangeError);
  });

  it("rejects a negative minimum", () => {
    expect(() => computeBackoffMs({ attempt: 1, minBackoffMs: -1, maxBackoffMs: 5 })).toThrow(RangeError);
  });

  it("rejects a jitter ratio above one", () => {
    expect(() => computeBackoffMs({ attempt: 1, ...bounds, jitterRatio: 1.5 })).toThrow(RangeError);
  });
});
