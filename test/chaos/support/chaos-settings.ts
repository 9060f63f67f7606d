/**
 * The scale knobs of the fault-injection suite, all environment variables. CHAOS_QUICK=1 picks the
 * small defaults CI runs (the whole suite in about three minutes); without it the defaults are the
 * issue's full scale, except the soak, which runs CHAOS_SOAK_SECONDS (default 60; 600 for the
 * ten-minute soak). Any single knob can be set on its own on top of either scale.
 */

const env = process.env;

/** True when CHAOS_QUICK is 1/true: every scenario small and bounded. */
export const isQuick = env.CHAOS_QUICK === "1" || env.CHAOS_QUICK === "true";

function knob(name: string, quick: number, full: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return isQuick ? quick : full;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number (got "${raw}")`);
  return value;
}

export const CHAOS = Object.freeze({
  quick: isQuick,
  /** How long each scenario waits, after its faults end, for every published id to be accounted for, ms. */
  drainMs: knob("CHAOS_DRAIN_SECONDS", 60, 120) * 1000,
  /** Then how long it waits for the queues to settle (no pending, leased or retrying rows), ms. */
  settleMs: knob("CHAOS_SETTLE_SECONDS", 25, 60) * 1000,
  /** Scenario 1: SIGKILL one of three instances every few seconds during publish and delivery. */
  kill: {
    instances: 3,
    kills: knob("CHAOS_KILLS", 4, 10),
    intervalMs: knob("CHAOS_KILL_INTERVAL_MS", 2_000, 3_000),
    /** Messages per second published for as long as the kills go on. */
    ratePerSecond: knob("CHAOS_KILL_RATE", 100, 150),
  },
  /** Scenario 2: MariaDB stopped in the middle of a load and started again. */
  dbRestart: {
    instances: 2,
    /** Messages per second published before, during and after the restart. */
    ratePerSecond: knob("CHAOS_DB_RATE", 100, 150),
    /** Load kept up after the database is back, ms. */
    loadAfterMs: knob("CHAOS_DB_LOAD_AFTER_MS", 3_000, 5_000),
    /** Load before the stop, and how long the database stays down. */
    loadBeforeMs: knob("CHAOS_DB_LOAD_BEFORE_MS", 2_000, 4_000),
    downMs: knob("CHAOS_DB_DOWN_SECONDS", 3, 8) * 1000,
    /** How the database is stopped: SIGTERM (clean shutdown, default) or SIGKILL (crash and recovery). */
    stopSignal: (env.CHAOS_DB_STOP_SIGNAL === "SIGKILL" ? "SIGKILL" : "SIGTERM") as NodeJS.Signals,
  },
  /** Scenario 3: consumers that disconnect mid-batch, ack late, ack twice and nack everything. */
  consumers: {
    messages: knob("CHAOS_CONSUMER_MESSAGES", 400, 2_000),
    /** How long the misbehaving consumers keep going after the publishing, before only the good one is left. */
    misbehaveMs: knob("CHAOS_CONSUMER_MISBEHAVE_SECONDS", 14, 30) * 1000,
  },
  /** Scenario 4: a webhook receiver that flaps between 200, 500, timeouts and connection resets. */
  webhook: {
    // Herald's push window shrinks to one request at a time while an endpoint fails, so a flapping
    // receiver sees a few requests per second: the messages are few enough that each one meets the
    // flapping several times (and some exhaust the 3 attempts of the second subscription).
    messages: knob("CHAOS_WEBHOOK_MESSAGES", 60, 300),
    flapMs: knob("CHAOS_WEBHOOK_FLAP_MS", 400, 700),
    flappingMs: knob("CHAOS_WEBHOOK_FLAPPING_SECONDS", 12, 60) * 1000,
  },
  /** Scenario 5: three instances, competing consumers at full speed. */
  compete: {
    instances: 3,
    seconds: knob("CHAOS_COMPETE_SECONDS", 10, 60),
    orderingKeys: knob("CHAOS_COMPETE_KEYS", 40, 100),
    streamsPerInstance: knob("CHAOS_COMPETE_STREAMS", 2, 2),
    /** Most messages in flight from the publishers (unacked by consumers); keeps the run at consumer speed. */
    maxBacklog: knob("CHAOS_COMPETE_MAX_BACKLOG", 800, 3_000),
  },
  /** Scenario 6: a steady rate with streams, pulls and pushes. */
  soak: {
    instances: 2,
    seconds: knob("CHAOS_SOAK_SECONDS", 15, 60),
    ratePerSecond: knob("CHAOS_SOAK_RATE", 40, 50),
    sampleEveryMs: knob("CHAOS_SOAK_SAMPLE_SECONDS", 5, 10) * 1000,
  },
});
