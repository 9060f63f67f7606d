/** Input of {@link computeBackoffMs}. */
export interface BackoffInput {
  /** Number of the attempt that just failed, starting at 1; values below 1 (or NaN) count as 1. */
  attempt: number;
  /** Delay after the first failure, in ms; also the lower bound of every result. */
  minBackoffMs: number;
  /** Upper bound of every result, in ms; must be >= `minBackoffMs`. */
  maxBackoffMs: number;
  /** Fraction of the delay added or removed at random, in [0, 1]; default 0.2 (±20 %). */
  jitterRatio?: number;
  /** Source of uniform numbers in [0, 1); default `Math.random`. Inject a fixed one in tests. */
  random?: () => number;
}

/** Default share of the delay that is randomised: ±20 %. */
export const DEFAULT_JITTER_RATIO = 0.2;

// 2^1023 is the largest finite power of two; beyond that the product is Infinity (capped below)
// or, for minBackoffMs = 0, would become 0 * Infinity = NaN.
const MAX_EXPONENT = 1023;

/**
 * Delay before the next retry, in whole ms: `minBackoffMs * 2^(attempt-1)` capped at `maxBackoffMs`,
 * then ±`jitterRatio` at random, and always within [minBackoffMs, maxBackoffMs].
 * @throws RangeError when the bounds or the jitter ratio are not valid numbers.
 */
export function computeBackoffMs(input: BackoffInput): number {
  const { minBackoffMs, maxBackoffMs } = input;
  const jitterRatio = input.jitterRatio ?? DEFAULT_JITTER_RATIO;
  const random = input.random ?? Math.random;
  if (!Number.isFinite(minBackoffMs) || minBackoffMs < 0) {
    throw new RangeError(`minBackoffMs must be a finite number >= 0, got ${minBackoffMs}`);
  }
  if (!Number.isFinite(maxBackoffMs) || maxBackoffMs < minBackoffMs) {
    throw new RangeError(`maxBackoffMs must be finite and >= minBackoffMs, got ${maxBackoffMs}`);
  }
  if (!(jitterRatio >= 0 && jitterRatio <= 1)) {
    throw new RangeError(`jitterRatio must be between 0 and 1, got ${jitterRatio}`);
  }

  const attempt = Number.isNaN(input.attempt) ? 1 : Math.max(1, Math.floor(input.attempt));
  const exponent = Math.min(attempt - 1, MAX_EXPONENT);
  const baseMs = Math.min(maxBackoffMs, minBackoffMs * 2 ** exponent);

  // random() is in [0, 1), so the factor spans [1 - ratio, 1 + ratio). Clamp the sample in case an
  // injected source strays outside its contract.
  const sample = Math.min(1, Math.max(0, random()));
  const jitteredMs = baseMs * (1 + jitterRatio * (2 * sample - 1));
  const rounded = Number.isFinite(jitteredMs) ? Math.round(jitteredMs) : baseMs;
  return Math.min(maxBackoffMs, Math.max(minBackoffMs, rounded));
}
