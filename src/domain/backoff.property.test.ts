import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computeBackoffMs, DEFAULT_JITTER_RATIO } from "./backoff.js";

/** Property tests of computeBackoffMs: bounds, monotonicity without jitter, and the jitter's width. */

/** Bounds as a subscription can hold them (0..1 h), plus far larger ones; max >= min. */
const boundsArb = fc
  .tuple(fc.integer({ min: 0, max: 10_000_000_000 }), fc.integer({ min: 0, max: 10_000_000_000 }))
  .map(([a, b]) => ({ minBackoffMs: Math.min(a, b), maxBackoffMs: Math.max(a, b) }));

/** Any attempt number, including nonsense a caller might pass: 0, negatives, huge, fractional, NaN, ±Infinity. */
const attemptArb = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.integer({ min: -1_000, max: 1_000_000 }),
  fc.double({ noNaN: false }),
  fc.constantFrom(0, -1, 1023, 1024, 1025, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY, Number.NaN),
);

/** A uniform sample as Math.random gives it: [0, 1). */
const sampleArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** What the delay is before jitter: min * 2^(attempt-1) capped at max, as the contract states. */
function baseDelayMs(attempt: number, minBackoffMs: number, maxBackoffMs: number): number {
  const n = Number.isNaN(attempt) ? 1 : Math.max(1, Math.floor(attempt));
  const exponent = Math.min(n - 1, 1023);
  return Math.min(maxBackoffMs, minBackoffMs * 2 ** exponent);
}

const RUNS = { numRuns: 5_000 };

describe("computeBackoffMs (properties)", () => {
  it("always returns a whole number of ms within [minBackoffMs, maxBackoffMs]", () => {
    fc.assert(
      fc.property(
        boundsArb,
        attemptArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        sampleArb,
        (bounds, attempt, jitterRatio, sample) => {
          const delay = computeBackoffMs({ attempt, ...bounds, jitterRatio, random: () => sample });
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(bounds.minBackoffMs);
          expect(delay).toBeLessThanOrEqual(bounds.maxBackoffMs);
        },
      ),
      RUNS,
    );
  });

  it("stays within bounds even when the random source breaks its contract", () => {
    fc.assert(
      fc.property(boundsArb, attemptArb, fc.double(), (bounds, attempt, sample) => {
        const delay = computeBackoffMs({ attempt, ...bounds, random: () => sample });
        expect(delay).toBeGreaterThanOrEqual(bounds.minBackoffMs);
        expect(delay).toBeLessThanOrEqual(bounds.maxBackoffMs);
      }),
      RUNS,
    );
  });

  it("uses Math.random by default and still respects the bounds", () => {
    fc.assert(
      fc.property(boundsArb, attemptArb, (bounds, attempt) => {
        const delay = computeBackoffMs({ attempt, ...bounds });
        expect(delay).toBeGreaterThanOrEqual(bounds.minBackoffMs);
        expect(delay).toBeLessThanOrEqual(bounds.maxBackoffMs);
      }),
      { numRuns: 1_000 },
    );
  });

  it("never decreases from one attempt to the next when there is no jitter", () => {
    fc.assert(
      fc.property(boundsArb, fc.integer({ min: -5, max: 2_000 }), sampleArb, (bounds, attempt, sample) => {
        const at = (n: number) =>
          computeBackoffMs({ attempt: n, ...bounds, jitterRatio: 0, random: () => sample });
        expect(at(attempt + 1)).toBeGreaterThanOrEqual(at(attempt));
      }),
      RUNS,
    );
  });

  it("is exactly the capped exponential delay, rounded, when there is no jitter", () => {
    fc.assert(
      fc.property(boundsArb, fc.integer({ min: 1, max: 2_000 }), (bounds, attempt) => {
        const delay = computeBackoffMs({ attempt, ...bounds, jitterRatio: 0 });
        const base = baseDelayMs(attempt, bounds.minBackoffMs, bounds.maxBackoffMs);
        expect(delay).toBe(Math.min(bounds.maxBackoffMs, Math.max(bounds.minBackoffMs, Math.round(base))));
      }),
      RUNS,
    );
  });

  it("moves the delay by at most ±20 % (plus rounding) with the default jitter", () => {
    fc.assert(
      fc.property(boundsArb, fc.integer({ min: 1, max: 80 }), sampleArb, (bounds, attempt, sample) => {
        const delay = computeBackoffMs({ attempt, ...bounds, random: () => sample });
        const base = baseDelayMs(attempt, bounds.minBackoffMs, bounds.maxBackoffMs);
        const low = Math.max(bounds.minBackoffMs, base * (1 - DEFAULT_JITTER_RATIO) - 0.5);
        const high = Math.min(bounds.maxBackoffMs, base * (1 + DEFAULT_JITTER_RATIO) + 0.5);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(low));
        expect(delay).toBeLessThanOrEqual(Math.ceil(high));
      }),
      RUNS,
    );
  });

  it("keeps any jitter ratio r within ±r of the base delay", () => {
    fc.assert(
      fc.property(
        boundsArb,
        fc.integer({ min: 1, max: 80 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        sampleArb,
        (bounds, attempt, jitterRatio, sample) => {
          const delay = computeBackoffMs({ attempt, ...bounds, jitterRatio, random: () => sample });
          const base = baseDelayMs(attempt, bounds.minBackoffMs, bounds.maxBackoffMs);
          expect(Math.abs(delay - base)).toBeLessThanOrEqual(base * jitterRatio + 0.5 + 1e-6 * base);
        },
      ),
      RUNS,
    );
  });

  it("is the base delay, rounded, at the middle of the random range", () => {
    fc.assert(
      fc.property(boundsArb, fc.integer({ min: 1, max: 80 }), (bounds, attempt) => {
        const delay = computeBackoffMs({ attempt, ...bounds, random: () => 0.5 });
        const base = baseDelayMs(attempt, bounds.minBackoffMs, bounds.maxBackoffMs);
        expect(delay).toBe(Math.min(bounds.maxBackoffMs, Math.max(bounds.minBackoffMs, Math.round(base))));
      }),
      RUNS,
    );
  });

  it("rejects negative or non-finite bounds, inverted bounds and out-of-range jitter ratios", () => {
    const bad = fc.oneof(
      fc.record({
        minBackoffMs: fc.oneof(
          fc.integer({ max: -1 }),
          fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
        ),
        maxBackoffMs: fc.integer({ min: 0 }),
        jitterRatio: fc.constant(0.2),
      }),
      fc
        .tuple(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }))
        .map(([min, less]) => ({ minBackoffMs: min, maxBackoffMs: min - less, jitterRatio: 0.2 })),
      fc.record({
        minBackoffMs: fc.constant(0),
        maxBackoffMs: fc.constant(1000),
        jitterRatio: fc.oneof(
          fc.double({ min: 1, minExcluded: true, noNaN: true }),
          // Strictly negative: -0 is a valid ratio of 0.
          fc.double({ max: 0, maxExcluded: true, noNaN: true }).filter((r) => r < 0),
          fc.constant(Number.NaN),
        ),
      }),
    );
    fc.assert(
      fc.property(bad, (input) => {
        expect(() => computeBackoffMs({ attempt: 1, ...input })).toThrow(RangeError);
      }),
    );
  });
});
