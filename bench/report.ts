/** Turns runs into summary rows, prints them as a table and writes the JSON results file. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchSettings } from "./bench-settings.js";
import type { MachineFacts } from "./machine-facts.js";
import type { MissingPeer } from "./peers/peer.js";
import { combineLatencies, type LatencySummary, type Spread, spreadOf } from "./stats.js";
import type { RunCost, RunResult } from "./workloads/workload.js";

export interface SummaryRow {
  /** "Herald-MySQL", "Herald-SQLite", "RabbitMQ", "JetStream", "MariaDB ceiling". */
  target: string;
  workloadId: string;
  workload: string;
  unit: "msg/s" | "rows/s";
  runs: RunResult[];
  rate?: Spread;
  latency?: LatencySummary & { p99RangeMs: [number, number] };
  /** CPU ms per message (per row for fan-out) of the server, the MySQL server and this bench client. */
  serverCpuMsPerMessage?: Spread;
  databaseCpuMsPerMessage?: Spread;
  clientCpuMsPerMessage?: Spread;
  /**
   * Herald-MySQL only: the database server's global status deltas per message (server-wide, so
   * only meaningful with nothing else on the server): see MysqlStatusDelta.
   */
  databasePerMessage?: DatabasePerMessage;
  /** Highest VmRSS of the server process over the measured runs, MiB. */
  serverPeakRssMiB?: number;
  /**
   * CPU cores busy with processes other than the server, MariaDB and this client, on average per
   * run (for peers the broker is the server; interrupt time is not counted). Above ~0.2 something
   * else competed for the machine.
   */
  otherCpuCores?: Spread;
  /** Fan-out only: the rate over the MySQL INSERT ceiling rows' medians of the same run. */
  ceilingRatio?: { insertText: number | undefined; insertPrepared: number | undefined };
  /** Why the row has no numbers (peer missing) or why a run failed. */
  note?: string;
  isFailure?: boolean;
}

export interface DatabasePerMessage {
  statements: Spread;
  questions: Spread;
  commits: Spread;
  handlerCommits: Spread;
  fsyncs: Spread;
}

function otherCores(cost: RunCost): number {
  if (cost.machineCpuSeconds === undefined || cost.elapsedSeconds <= 0) return Number.NaN;
  const ours = (cost.serverCpuSeconds ?? 0) + (cost.databaseCpuSeconds ?? 0) + cost.clientCpuSeconds;
  return Math.max(0, cost.machineCpuSeconds - ours) / cost.elapsedSeconds;
}

const msPer = (seconds: number | undefined, count: number) =>
  seconds === undefined || count === 0 ? Number.NaN : (seconds / count) * 1000;

function databasePerMessage(runs: readonly RunResult[]): DatabasePerMessage | undefined {
  const measured = runs.filter((r) => r.cost?.databaseStatus !== undefined && r.count > 0);
  if (measured.length === 0) return undefined;
  const per = (field: "statements" | "questions" | "commits" | "handlerCommits" | "fsyncs") =>
    spreadOf(measured.map((r) => (r.cost?.databaseStatus?.[field] ?? Number.NaN) / r.count));
  return {
    statements: per("statements"),
    questions: per("questions"),
    commits: per("commits"),
    handlerCommits: per("handlerCommits"),
    fsyncs: per("fsyncs"),
  };
}

/** A row from the measured runs of one target × workload. */
export function summarize(
  target: string,
  workloadId: string,
  workload: string,
  unit: SummaryRow["unit"],
  runs: RunResult[],
): SummaryRow {
  const withLatency = runs
    .map((r) => r.latency)
    .filter((l): l is LatencySummary => l !== undefined && l.count > 0);
  const costs = runs.filter((r) => r.cost !== undefined);
  const problems = runs.map((r) => r.problem).filter((p): p is string => p !== undefined);
  const remarks = runs.map((r) => r.remark).filter((p): p is string => p !== undefined);
  const rssPeaks = costs.map((r) => r.cost?.serverPeakRssBytes).filter((b): b is number => b !== undefined);
  return {
    target,
    workloadId,
    workload,
    unit,
    runs,
    rate: spreadOf(runs.map((r) => r.perSecond)),
    ...(withLatency.length > 0 ? { latency: combineLatencies(withLatency) } : {}),
    ...(costs.length > 0
      ? {
          serverCpuMsPerMessage: spreadOf(costs.map((r) => msPer(r.cost?.serverCpuSeconds, r.count))),
          databaseCpuMsPerMessage: spreadOf(costs.map((r) => msPer(r.cost?.databaseCpuSeconds, r.count))),
          clientCpuMsPerMessage: spreadOf(costs.map((r) => msPer(r.cost?.clientCpuSeconds, r.count))),
          otherCpuCores: spreadOf(costs.map((r) => (r.cost ? otherCores(r.cost) : Number.NaN))),
        }
      : {}),
    ...(databasePerMessage(runs) ? { databasePerMessage: databasePerMessage(runs) } : {}),
    ...(rssPeaks.length > 0 ? { serverPeakRssMiB: Math.max(...rssPeaks) / 2 ** 20 } : {}),
    ...(problems.length > 0
      ? { note: problems.join("; "), isFailure: true }
      : remarks.length > 0
        ? { note: `${remarks.length}/${runs.length} runs ${remarks[0]}` }
        : {}),
  };
}

/** A row that has no numbers: the target was missing or the workload failed before any run. */
export function noteRow(
  target: string,
  workloadId: string,
  workload: string,
  note: string,
  isFailure: boolean,
) {
  const row: SummaryRow = { target, workloadId, workload, unit: "msg/s", runs: [], note, isFailure };
  return row;
}

/**
 * Adds to each fan-out row its ratio to the MySQL INSERT ceiling rows (text, as knex sends, and
 * prepared) measured in the same run, in the note and as `ceilingRatio` in the JSON.
 */
export function compareFanOutToCeiling(rows: SummaryRow[], fanOutId: string): SummaryRow[] {
  const ceiling = (id: string) => rows.find((r) => r.workloadId === id && r.rate !== undefined)?.rate?.median;
  const text = ceiling("ceiling-insert-text");
  const prepared = ceiling("ceiling-insert");
  return rows.map((r) => {
    const median = r.rate?.median;
    if (r.workloadId !== fanOutId || median === undefined || !Number.isFinite(median)) return r;
    const ratio = (c: number | undefined) => (c === undefined || !(c > 0) ? undefined : median / c);
    const ceilingRatio = { insertText: ratio(text), insertPrepared: ratio(prepared) };
    const parts = [
      ceilingRatio.insertText === undefined
        ? undefined
        : `${ceilingRatio.insertText.toFixed(2)}× INSERT text`,
      ceilingRatio.insertPrepared === undefined
        ? undefined
        : `${ceilingRatio.insertPrepared.toFixed(2)}× INSERT prepared`,
    ].filter((p): p is string => p !== undefined);
    const comparison =
      parts.length > 0 ? `${parts.join(", ")} ceiling` : "no MySQL INSERT ceiling in this run";
    return { ...r, ceilingRatio, note: r.note ? `${comparison}; ${r.note}` : comparison };
  });
}

function fmtRate(spread: Spread | undefined, runs: number): string {
  if (!spread || !Number.isFinite(spread.median)) return "—";
  const n = (v: number) => Math.round(v).toLocaleString("en-US");
  return runs > 1 ? `${n(spread.median)} (${n(spread.min)}–${n(spread.max)})` : n(spread.median);
}

function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "—";
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : Math.round(ms).toLocaleString("en-US");
}

function fmtNum(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? "—" : value.toFixed(digits);
}

/** Counts per message: batched workloads amortize to fractions, so small values keep 3 decimals. */
const fmtCount = (value: number | undefined) => fmtNum(value, value !== undefined && value < 0.1 ? 3 : 2);

const HEADERS = [
  "workload",
  "target",
  "rate median (min–max)",
  "p50 ms",
  "p90 ms",
  "p99 ms",
  "max ms",
  "srv ms/msg",
  "DB ms/msg",
  "cli ms/msg",
  "SQL/msg",
  "commits/msg",
  "fsyncs/msg",
  "srv RSS MiB",
  "note",
];

/** The rows as a Markdown table (also readable in a terminal). */
export function formatTable(rows: readonly SummaryRow[]): string {
  const cells = rows.map((r) => [
    r.workload,
    r.target,
    r.runs.length > 0 ? `${fmtRate(r.rate, r.runs.length)} ${r.unit}` : "—",
    fmtMs(r.latency?.p50Ms),
    fmtMs(r.latency?.p90Ms),
    fmtMs(r.latency?.p99Ms),
    fmtMs(r.latency?.maxMs),
    fmtNum(r.serverCpuMsPerMessage?.median, 3),
    fmtNum(r.databaseCpuMsPerMessage?.median, 3),
    fmtNum(r.clientCpuMsPerMessage?.median, 3),
    fmtCount(r.databasePerMessage?.statements.median),
    fmtCount(r.databasePerMessage?.commits.median),
    fmtCount(r.databasePerMessage?.fsyncs.median),
    fmtNum(r.serverPeakRssMiB, 0),
    r.note ?? "",
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(HEADERS), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** Warnings for rows measured while other processes kept more than `thresholdCores` busy. */
export function formatContention(rows: readonly SummaryRow[], thresholdCores = 0.2): string[] {
  return rows
    .filter((r) => (r.otherCpuCores?.max ?? 0) > thresholdCores)
    .map(
      (r) =>
        `CONTENTION: other processes kept ${r.otherCpuCores?.max.toFixed(2)} cores busy during ` +
        `${r.target} ${r.workloadId} (median ${r.otherCpuCores?.median.toFixed(2)}); its numbers are pessimistic`,
    );
}

export function formatMachineFacts(machine: MachineFacts): string {
  const lines = [
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.kernel}`,
    `node ${machine.node}; SQLite ${machine.sqlite} (Herald: WAL, synchronous=FULL); ` +
      `load average at start ${machine.loadAverageAtStart.join(" / ")}`,
  ];
  if (machine.serverRuntime) {
    lines.push(
      machine.serverRuntime === "dist"
        ? "Herald children: the compiled build (node .bench-server/src/cli/main.js serve)"
        : "Herald children: the TypeScript sources through tsx (--server=tsx)",
    );
  }
  const heraldEnv = Object.entries(machine.heraldEnv).map(([k, v]) => `${k}=${v}`);
  if (heraldEnv.length > 0) lines.push(`Herald child environment: ${heraldEnv.join(" ")}`);
  const m = machine.mysql;
  if (m) {
    lines.push(
      `MariaDB/MySQL ${m.version}: innodb_flush_log_at_trx_commit=${m.innodbFlushLogAtTrxCommit}, ` +
        `sync_binlog=${m.syncBinlog}, log_bin=${m.logBin}, innodb_doublewrite=${m.innodbDoublewrite}, ` +
        `buffer pool ${m.innodbBufferPoolSizeMiB} MiB`,
    );
  }
  if (machine.rabbitmq) lines.push(`RabbitMQ ${machine.rabbitmq}`);
  if (machine.nats) lines.push(`NATS server ${machine.nats}`);
  return lines.join("\n");
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  mode: "quick" | "full";
  settings: BenchSettings;
  machine: MachineFacts;
  missing: MissingPeer[];
  rows: SummaryRow[];
  /** Error-level log lines of each Herald child. */
  serverErrors: Record<string, readonly string[]>;
  cpuProfiles: string[];
}

/** Writes bench/results/<timestamp>.json and returns its path. */
export function writeReport(dir: string, report: BenchReport): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${report.startedAt.replace(/[:.]/g, "-")}.json`);
  const json = JSON.stringify(
    report,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
    2,
  );
  writeFileSync(file, `${json}\n`);
  return file;
}
