/**
 * Scale knobs of the Galera scenarios (environment variables). GALERA_QUICK=1 is the bounded form
 * .ci/run uses (about three minutes including the cluster start); without it each phase loads
 * longer and the 1-vs-3-node throughput is measured too.
 */
const env = process.env;

export const isGaleraQuick = env.GALERA_QUICK === "1" || env.GALERA_QUICK === "true";

function knob(name: string, quick: number, full: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return isGaleraQuick ? quick : full;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number (got "${raw}")`);
  return value;
}

export const GALERA = Object.freeze({
  quick: isGaleraQuick,
  /** Messages per second published during each phase. */
  ratePerSecond: knob("GALERA_RATE", 50, 150),
  /** Load before the fault, and after it (while the node rejoins), ms. */
  loadBeforeMs: knob("GALERA_LOAD_BEFORE_MS", 2_000, 5_000),
  loadAfterMs: knob("GALERA_LOAD_AFTER_MS", 3_000, 10_000),
  /** The longest Publish outage a node failure may cause, ms (the bound). */
  maxOutageMs: knob("GALERA_MAX_OUTAGE_MS", 5_000, 5_000),
  /** Seconds of publishing per throughput measurement (0: skip it; skipped in the quick form). */
  throughputSeconds: knob("GALERA_THROUGHPUT_SECONDS", 0, 8),
});
