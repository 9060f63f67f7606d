/**
 * One scenario's report: what was published, the audit per subscription, recovery times, memory and
 * the servers' warnings. Printed by the scenario and saved as JSON in HERALD_CHAOS_REPORT_DIR, from
 * which the suite's global teardown prints the summary of the whole run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AuditResult } from "./chaos-audit.js";
import type { ChaosCluster, ProcessSample } from "./chaos-cluster.js";
import type { ChaosPublisher } from "./chaos-publisher.js";

export interface ScenarioReport {
  /** "1-kill", "2-db-restart", … */
  id: string;
  title: string;
  passed: boolean;
  durationMs: number;
  settings: Record<string, unknown>;
  publish: {
    published: number;
    calls: number;
    failedAttempts: Record<string, number>;
    failureSamples: Record<string, string>;
    abandoned: number;
    slowestFailureMs: number;
  };
  audit: AuditResult;
  /** Named recovery times, ms (or a note when not measured). */
  recovery: Record<string, number | string>;
  /** Process samples (after GC) over the run, per slot. */
  memory: ProcessSample[];
  /** Extra measurements (soak: DB connections, table sizes, …). */
  extra: Record<string, unknown>;
  exits: { slot: number; generation: number; code: number | null; signal: string | null; how: string }[];
  serverWarnings: Record<string, number>;
  /** The first full log line of each error-level kind. */
  serverErrorSamples: Record<string, string>;
  failures: string[];
}

export function publishSummary(publisher: ChaosPublisher): ScenarioReport["publish"] {
  return {
    published: publisher.published.size,
    calls: publisher.calls,
    failedAttempts: publisher.failureSummary(),
    failureSamples: Object.fromEntries(publisher.failureSamples),
    abandoned: publisher.abandoned.length,
    slowestFailureMs: publisher.slowestFailureMs,
  };
}

export function exitsOf(cluster: ChaosCluster): ScenarioReport["exits"] {
  return cluster.exits.map((e) => ({
    slot: e.slot,
    generation: e.generation,
    code: e.exit.code,
    signal: e.exit.signal,
    how: e.how,
  }));
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")).join("\n");
}

/** Memory lines: first and last sample of every process (slot/pid). */
export function memoryTable(samples: readonly ProcessSample[]): string {
  const byProcess = new Map<string, ProcessSample[]>();
  for (const s of samples) {
    const key = `${s.slot}/${s.pid}`;
    byProcess.set(key, [...(byProcess.get(key) ?? []), s]);
  }
  const rows = [...byProcess].map(([key, list]) => {
    const first = list[0] as ProcessSample;
    const last = list[list.length - 1] as ProcessSample;
    return [
      key,
      list.length,
      `${mb(first.rssBytes)} → ${mb(last.rssBytes)}`,
      `${mb(first.heapUsedBytes)} → ${mb(last.heapUsedBytes)}`,
      `${first.activeHandles} → ${last.activeHandles}`,
      `${first.openFds} → ${last.openFds}`,
    ];
  });
  return table(["slot/pid", "samples", "RSS", "heap used (after GC)", "active handles", "open fds"], rows);
}

export function formatReport(r: ScenarioReport): string {
  const lines: string[] = [];
  lines.push(
    `=== chaos ${r.id}: ${r.title} — ${r.passed ? "PASS" : "FAIL"} (lost ${r.audit.lost}, stored duplicates ${r.audit.storedDuplicates}) in ${seconds(r.durationMs)}`,
  );
  lines.push(`settings: ${JSON.stringify(r.settings)}`);
  const p = r.publish;
  lines.push(
    `publish: ${p.published} ids OK in ${p.calls} calls; failed attempts ${JSON.stringify(p.failedAttempts)}; slowest failed call ${p.slowestFailureMs} ms; abandoned ${p.abandoned}`,
  );
  for (const [code, sample] of Object.entries(p.failureSamples)) lines.push(`  ${code}: ${sample}`);
  lines.push(
    table(
      [
        "subscription",
        "published",
        "acked/2xx",
        "DLQ",
        "LOST",
        "deliveries",
        "dup.deliveries",
        "redelivered",
        "stored-dups",
        "invalid-acks",
        "nacks",
        "excl.viol",
        "order.viol",
        "queue after",
      ],
      r.audit.rows.map((row) => [
        row.subscription,
        row.published,
        row.acked,
        `${row.deadLettered}${row.deadLettered > 0 ? ` ${JSON.stringify(row.deadLetterReasons)}` : ""}`,
        row.lost,
        row.deliveries,
        row.duplicateDeliveries,
        row.redeliveredMessages,
        row.storedDuplicates,
        row.invalidAcks,
        row.nacks,
        row.exclusivityViolations,
        row.orderViolations,
        typeof row.queue === "string"
          ? row.queue
          : `backlog ${row.queue.backlog} inflight ${row.queue.inFlight} retry ${row.queue.waitingForRetry} dlq ${row.queue.deadLettersUnresolved}`,
      ]),
    ),
  );
  for (const row of r.audit.rows) {
    if (row.lost > 0) {
      lines.push(`  LOST on ${row.subscription}: ${row.lostSample.join(", ")}`);
      lines.push(`  their queue rows: ${JSON.stringify(row.lostQueueRows)}`);
    }
    if (row.ackedUnconfirmed > 0) {
      lines.push(
        `  ${row.subscription}: ${row.ackedUnconfirmed} ids acked by a consumer whose ack call failed mid-call (instance killed); the queue row is sent, so the ack committed`,
      );
    }
    if (row.ackedAndDeadLettered > 0)
      lines.push(`  ${row.subscription}: ${row.ackedAndDeadLettered} acked ids are also in the DLQ`);
    if (row.ackCallsAbandoned > 0 || row.secondAckInvalid > 0)
      lines.push(
        `  ${row.subscription}: ack calls abandoned ${row.ackCallsAbandoned}, second acks reported invalid ${row.secondAckInvalid}`,
      );
    for (const s of row.exclusivitySample) lines.push(`  exclusivity: ${s}`);
    for (const s of row.orderSample) lines.push(`  order: ${s}`);
  }
  lines.push(
    `drain: every id accounted for ${seconds(r.audit.drainMs)} after the faults ended; queues settled ${r.audit.settledMs === undefined ? "NOT within the settle time" : `${seconds(r.audit.settledMs)} later`}`,
  );
  if (Object.keys(r.recovery).length > 0) {
    lines.push(
      `recovery: ${Object.entries(r.recovery)
        .map(([k, v]) => `${k} ${typeof v === "number" ? `${v} ms` : v}`)
        .join("; ")}`,
    );
  }
  if (r.memory.length > 0) lines.push(memoryTable(r.memory));
  for (const [k, v] of Object.entries(r.extra))
    lines.push(`${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  if (r.exits.length > 0) {
    const graceful = r.exits.filter((e) => e.how === "SIGTERM");
    lines.push(
      `process exits: ${r.exits.filter((e) => e.how === "SIGKILL").length} SIGKILLed; SIGTERM exit codes [${graceful.map((e) => e.code ?? e.signal).join(", ")}]`,
    );
  }
  const warnings = Object.entries(r.serverWarnings).sort((a, b) => b[1] - a[1]);
  if (warnings.length > 0) {
    lines.push("server warnings/errors (count):");
    for (const [k, n] of warnings.slice(0, 15)) lines.push(`  ${n} × ${k}`);
  }
  for (const [k, line] of Object.entries(r.serverErrorSamples)) lines.push(`first "${k}": ${line}`);
  for (const f of r.failures) lines.push(`FAILED: ${f}`);
  return lines.join("\n");
}

/** Prints the report and saves it for the run summary. */
export function publishReport(r: ScenarioReport): void {
  console.log(formatReport(r));
  const dir = process.env.HERALD_CHAOS_REPORT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${r.id}.json`), JSON.stringify(r, null, 2));
}
