/** What a workload is and what one measured run of it reports. */
import type { BenchSettings } from "../bench-settings.js";
import type { MysqlStatusDelta } from "../mysql-status.js";
import type { Peer } from "../peers/peer.js";
import type { LatencySummary } from "../stats.js";

/** Resources used during the measured part of a run. */
export interface RunCost {
  /** CPU seconds of the server: the Herald child, or a local RabbitMQ/NATS server process when found. */
  serverCpuSeconds?: number;
  /** Highest VmRSS of the server process during the run, bytes. */
  serverPeakRssBytes?: number;
  /** CPU seconds of the MariaDB server process (Herald-MySQL only, when its pid file is readable). */
  databaseCpuSeconds?: number;
  /** CPU seconds of this (the benchmark client) process. */
  clientCpuSeconds: number;
  /** CPU seconds of all processes on the machine (user + nice + system from /proc/stat). */
  machineCpuSeconds?: number;
  /** Wall-clock seconds between start and finish of the meter. */
  elapsedSeconds: number;
  /** MySQL/MariaDB global status deltas (Herald-MySQL only; server-wide, see mysql-status.ts). */
  databaseStatus?: MysqlStatusDelta;
}

export interface RunResult {
  /** Messages (or rows) counted: acknowledged publishes, or acked deliveries. */
  count: number;
  /** What the run set out to do. */
  expected: number;
  /** Measured interval, seconds. */
  seconds: number;
  perSecond: number;
  /** False when the deadline or an error stopped the run early. */
  isComplete: boolean;
  /** publish→receive latency. */
  latency?: LatencySummary;
  /** How long a Publish call took (fixed-rate only). */
  publishLatency?: LatencySummary;
  duplicates?: number;
  cost?: RunCost;
  /** Why the run is incomplete, if it is (the run counts as failed). */
  problem?: string;
  /** Something worth knowing that is not a failure, e.g. a fixed rate that was not kept up. */
  remark?: string;
}

export interface WorkloadContext {
  settings: BenchSettings;
  /** A name unique in this bench process, for channels and message ids: letters, digits, dashes. */
  uniqueTag(stem: string): string;
  /**
   * Starts measuring the server, database and client processes (and, for Herald-MySQL, the
   * database's statement counters); finish() returns the deltas.
   */
  startMeter(peer: Peer): Promise<{ finish(): Promise<RunCost> }>;
}

export interface Workload {
  /** Stable id used by --only and in the JSON. */
  id: string;
  /** Heading in the table. */
  title(settings: BenchSettings): string;
  /** Whether the peers (RabbitMQ, JetStream) run it too, or Herald only. */
  isForPeers: boolean;
  /** "rows/s" when a run counts rows written rather than messages (fan-out). */
  unit: "msg/s" | "rows/s";
  /** Extra environment for the Herald child of this workload (Herald-only workloads). */
  heraldEnv?: Record<string, string>;
  warmUp(peer: Peer, ctx: WorkloadContext): Promise<void>;
  runOnce(peer: Peer, ctx: WorkloadContext): Promise<RunResult>;
}
