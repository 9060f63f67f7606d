/**
 * Runs the workloads against each target: Herald on one backend (a fresh database and child per
 * workload), a peer (one connection, fresh channels per run), and the database ceiling. Every
 * outcome, including a skip or a failure, becomes a row in `state.rows`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type BackendKind,
  createMysqlDatabase,
  createSqliteDatabase,
  type MysqlServer,
} from "./bench-databases.js";
import type { BenchSettings } from "./bench-settings.js";
import type { CliOptions } from "./cli-options.js";
import type { MachineFacts } from "./machine-facts.js";
import { type MysqlStatusReader, openMysqlStatusReader } from "./mysql-status.js";
import type { HeraldPeerOptions } from "./peers/herald-peer.js";
import type { MissingPeer, Peer } from "./peers/peer.js";
import { noteRow, type SummaryRow, summarize } from "./report.js";
import { createWorkloadContext } from "./workload-context.js";
import { measureDatabaseCeiling } from "./workloads/db-ceiling.js";
import type { RunResult, Workload, WorkloadContext } from "./workloads/workload.js";

export interface RunState {
  cli: CliOptions;
  settings: BenchSettings;
  workloads: readonly Workload[];
  /** Where results and CPU profiles go. */
  resultsDir: string;
  /** Short random tag making channel names and message ids unique to this bench process. */
  runTag: string;
  startedAt: string;
  rows: SummaryRow[];
  missing: MissingPeer[];
  serverErrors: Record<string, readonly string[]>;
  cpuProfiles: string[];
}

/** Cleanups to run if the bench is interrupted (children, databases, queues). */
export const liveCleanups = new Set<() => Promise<void>>();

export function describeError(err: unknown): string {
  return err instanceof Error ? (err.message.split("\n")[0] ?? err.message) : String(err);
}

function logRun(label: string, id: string, index: number, total: number, run: RunResult, unit: string) {
  const rate = `${Math.round(run.perSecond).toLocaleString("en-US")} ${unit}`;
  const latency = run.latency
    ? `, p50 ${run.latency.p50Ms.toFixed(1)} ms, p99 ${run.latency.p99Ms.toFixed(1)} ms`
    : "";
  const note = run.problem ? `  !! ${run.problem}` : run.remark ? `  (${run.remark})` : "";
  console.log(`  [${label}] ${id} — run ${index}/${total}: ${rate}${latency}${note}`);
}

/** Warm-up, then settings.runs measured runs; a thrown error becomes a failed row. */
async function measureWorkload(peer: Peer, workload: Workload, ctx: WorkloadContext): Promise<SummaryRow> {
  const title = workload.title(ctx.settings);
  try {
    await workload.warmUp(peer, ctx);
    const runs: RunResult[] = [];
    for (let i = 1; i <= ctx.settings.runs; i++) {
      const run = await workload.runOnce(peer, ctx);
      logRun(peer.label, workload.id, i, ctx.settings.runs, run, workload.unit);
      runs.push(run);
    }
    return summarize(peer.label, workload.id, title, workload.unit, runs);
  } catch (err) {
    console.log(`  [${peer.label}] ${workload.id} failed: ${describeError(err)}`);
    return noteRow(peer.label, workload.id, title, `failed: ${describeError(err)}`, true);
  }
}

/** A Herald child reached through one API and client (its own row label and workloads). */
export interface HeraldClientVariant {
  /** Row label; undefined for the connect-es rows ("Herald-MySQL", "Herald-SQLite"). */
  label?: (backend: BackendKind) => string;
  start(options: HeraldPeerOptions): Promise<Peer>;
  /** The workloads this client runs. */
  workloadIds: ReadonlySet<string>;
}

export const heraldLabel = (backend: BackendKind) => (backend === "mysql" ? "Herald-MySQL" : "Herald-SQLite");

/** Herald on one backend through one client: a fresh database and child process per workload. */
export async function benchHerald(
  state: RunState,
  backend: BackendKind,
  mysql: MysqlServer,
  machine: MachineFacts,
  variant: HeraldClientVariant,
): Promise<void> {
  const label = variant.label?.(backend) ?? heraldLabel(backend);
  const chosen = (w: Workload) => state.cli.workloadIds.has(w.id) && variant.workloadIds.has(w.id);
  if (!state.workloads.some(chosen)) return;
  const databasePid = backend === "mysql" ? machine.mysql?.pid : undefined;
  let statusReader: MysqlStatusReader | undefined;
  if (backend === "mysql") {
    try {
      statusReader = await openMysqlStatusReader(mysql);
    } catch (err) {
      console.log(`  [${label}] no statement counts: ${describeError(err)}`);
    }
  }
  try {
    const ctx = createWorkloadContext(state.settings, state.runTag, databasePid, statusReader);
    await benchHeraldWorkloads(state, backend, mysql, label, variant, ctx);
  } finally {
    await statusReader?.close().catch(() => {});
  }
}

async function benchHeraldWorkloads(
  state: RunState,
  backend: BackendKind,
  mysql: MysqlServer,
  label: string,
  variant: HeraldClientVariant,
  ctx: WorkloadContext,
): Promise<void> {
  const chosen = (w: Workload) => state.cli.workloadIds.has(w.id) && variant.workloadIds.has(w.id);
  for (const workload of state.workloads.filter(chosen)) {
    // A label may hold spaces and "/" (the Pub/Sub row); the profile name is a file name.
    const profileName = `${state.startedAt.replace(/[:.]/g, "-")}-${label.replace(/[^A-Za-z0-9-]+/g, "-")}-${workload.id}`;
    let peer: Peer;
    try {
      const database = backend === "mysql" ? await createMysqlDatabase(mysql) : createSqliteDatabase();
      peer = await variant.start({
        label,
        database,
        ...(workload.heraldEnv ? { env: workload.heraldEnv } : {}),
        ...(state.cli.isCpuProfiling ? { cpuProfile: { dir: state.resultsDir, name: profileName } } : {}),
        runtime: state.cli.serverRuntime,
      });
    } catch (err) {
      console.log(`  [${label}] could not start Herald: ${describeError(err)}`);
      const title = workload.title(state.settings);
      state.rows.push(noteRow(label, workload.id, title, `failed to start: ${describeError(err)}`, true));
      continue;
    }
    const cleanup = () => peer.close();
    liveCleanups.add(cleanup);
    try {
      state.rows.push(await measureWorkload(peer, workload, ctx));
    } finally {
      const errors = peer.serverErrors();
      if (errors.length > 0) state.serverErrors[`${label} ${workload.id}`] = [...errors];
      await peer
        .close()
        .catch((err: unknown) => console.log(`  [${label}] stop failed: ${describeError(err)}`));
      liveCleanups.delete(cleanup);
    }
    const profile = join(state.resultsDir, `${profileName}.cpuprofile`);
    if (state.cli.isCpuProfiling && existsSync(profile)) state.cpuProfiles.push(profile);
  }
}

/** A peer's workloads, or "skipped" rows when it cannot be reached. Returns its version when it ran. */
export async function benchPeer(
  state: RunState,
  label: string,
  start: () => Promise<Peer & { version: string }>,
): Promise<string | undefined> {
  const peerWorkloads = state.workloads.filter((w) => w.isForPeers && state.cli.workloadIds.has(w.id));
  if (peerWorkloads.length === 0) return undefined;
  let peer: Peer & { version: string };
  try {
    peer = await start();
  } catch (err) {
    const reason = describeError(err);
    console.log(`  ${label} MISSING — not reachable (${reason}); its rows are skipped`);
    state.missing.push({ label, reason });
    for (const w of peerWorkloads) {
      state.rows.push(
        noteRow(label, w.id, w.title(state.settings), `skipped: ${label} not reachable`, false),
      );
    }
    return undefined;
  }
  const cleanup = () => peer.close();
  liveCleanups.add(cleanup);
  try {
    const ctx = createWorkloadContext(state.settings, state.runTag, undefined);
    for (const workload of peerWorkloads) state.rows.push(await measureWorkload(peer, workload, ctx));
  } finally {
    await peer.close();
    liveCleanups.delete(cleanup);
  }
  return peer.version;
}

/** The MySQL ceiling rows (insert prepared, insert text, claim; or the inserts only), or one failed row. */
export async function benchCeiling(
  state: RunState,
  mysql: MysqlServer,
  options: { insertsOnly?: boolean } = {},
): Promise<void> {
  const label = "MariaDB ceiling";
  try {
    for (const m of await measureDatabaseCeiling(mysql, state.settings, options)) {
      m.runs.forEach((run, i) => {
        logRun(label, m.id, i + 1, m.runs.length, run, "rows/s");
      });
      state.rows.push(summarize(label, m.id, `DB ceiling: ${m.title}`, "rows/s", m.runs));
    }
  } catch (err) {
    console.log(`  [${label}] failed: ${describeError(err)}`);
    state.rows.push(noteRow(label, "ceiling", "DB ceiling", `failed: ${describeError(err)}`, true));
  }
}
