/** Every count, rate and time limit of a bench run, for the full run and for --quick. */

export interface BenchSettings {
  isQuick: boolean;
  /** Measured runs per workload (after one warm-up). */
  runs: number;
  /** Hard limit for one run (publishing plus draining), ms. */
  runTimeoutMs: number;
  publishThroughput: { total: number; warmupTotal: number; clients: number; batchSize: number };
  /** Workload 1s: one message per call, `maxInFlight` calls in flight over `clients` connections. */
  singlePublish: { total: number; warmupTotal: number; clients: number; maxInFlight: number };
  endToEnd: {
    total: number;
    warmupTotal: number;
    clients: number;
    batchSize: number;
    consumers: number;
    maxOutstandingMessages: number;
  };
  fixedRate: {
    ratePerSecond: number;
    durationMs: number;
    warmupMs: number;
    /** Most publishes in flight; a later one waits (and its latency shows it). */
    maxInFlight: number;
    maxOutstandingMessages: number;
  };
  /** Workload 4: PUSH delivery to a local HTTP receiver. */
  push: { total: number; warmupTotal: number; clients: number; batchSize: number };
  /** Workload 5: one topic with many PULL subscriptions; counts the queue rows written. */
  fanOut: { total: number; warmupTotal: number; clients: number; batchSize: number; subscriptions: number };
  ceiling: {
    rowsPerStatement: number;
    insertStatements: number;
    warmupStatements: number;
    claimRows: number;
    warmupClaimRows: number;
    claimWorkers: number;
    claimBatch: number;
  };
}

const FULL: BenchSettings = {
  isQuick: false,
  runs: 3,
  runTimeoutMs: 180_000,
  publishThroughput: { total: 40_000, warmupTotal: 4_000, clients: 4, batchSize: 100 },
  singlePublish: { total: 20_000, warmupTotal: 2_000, clients: 4, maxInFlight: 1000 },
  endToEnd: {
    total: 20_000,
    warmupTotal: 2_000,
    clients: 4,
    batchSize: 100,
    consumers: 2,
    maxOutstandingMessages: 1000,
  },
  fixedRate: {
    ratePerSecond: 1000,
    durationMs: 10_000,
    warmupMs: 1_000,
    maxInFlight: 1000,
    maxOutstandingMessages: 1000,
  },
  push: { total: 20_000, warmupTotal: 2_000, clients: 4, batchSize: 100 },
  fanOut: { total: 10_000, warmupTotal: 1_000, clients: 4, batchSize: 100, subscriptions: 100 },
  ceiling: {
    rowsPerStatement: 1000,
    insertStatements: 100,
    warmupStatements: 10,
    claimRows: 100_000,
    warmupClaimRows: 10_000,
    claimWorkers: 4,
    claimBatch: 100,
  },
};

/** Small counts and one run: everything in well under a minute (CI runs this). */
const QUICK: BenchSettings = {
  ...FULL,
  isQuick: true,
  runs: 1,
  runTimeoutMs: 20_000,
  publishThroughput: { ...FULL.publishThroughput, total: 1_000, warmupTotal: 200 },
  singlePublish: { ...FULL.singlePublish, total: 1_000, warmupTotal: 200 },
  endToEnd: { ...FULL.endToEnd, total: 1_000, warmupTotal: 200 },
  fixedRate: { ...FULL.fixedRate, durationMs: 1_000, warmupMs: 200 },
  push: { ...FULL.push, total: 1_000, warmupTotal: 200 },
  fanOut: { ...FULL.fanOut, total: 1_000, warmupTotal: 100, subscriptions: 50 },
  ceiling: {
    ...FULL.ceiling,
    insertStatements: 5,
    warmupStatements: 1,
    claimRows: 5_000,
    warmupClaimRows: 1_000,
  },
};

export interface SettingsOverrides {
  /** Measured runs per workload. */
  runs?: number;
  /** The fixed-rate workload's messages per second. */
  ratePerSecond?: number;
}

/** The full or quick settings, with command-line overrides applied. */
export function benchSettings(isQuick: boolean, overrides: SettingsOverrides = {}): BenchSettings {
  const base = isQuick ? QUICK : FULL;
  return {
    ...base,
    runs: overrides.runs ?? base.runs,
    fixedRate: { ...base.fixedRate, ratePerSecond: overrides.ratePerSecond ?? base.fixedRate.ratePerSecond },
  };
}
