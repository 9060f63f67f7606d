/**
 * `npm run bench [-- --quick] [--only=publish,e2e,latency,push,push-latency,fanout,ceiling] [--targets=…] [--cpu-prof] [--server=dist|tsx]`
 *
 * Measures Herald (a child process on MySQL and on SQLite) against the database's own ceiling and
 * against RabbitMQ and NATS JetStream when they are reachable, all on loopback. Prints a table and
 * writes bench/results/<timestamp>.json. Exits 1 when a Herald or ceiling run fails; a missing
 * peer (RabbitMQ, JetStream) is reported and skipped. See BENCHMARKS.md.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { mysqlServerFromEnv, mysqlUnreachableReason } from "./bench-databases.js";
import { benchSettings } from "./bench-settings.js";
import { parseCli, UsageError } from "./cli-options.js";
import { COMPILED_SERVER_DIR, REPO_ROOT } from "./herald-child.js";
import { baseMachineFacts, mysqlFacts } from "./machine-facts.js";
import { GRPC_JS_SUFFIX, startGrpcJsPeer } from "./peers/grpc-js-peer.js";
import { startHeraldPeer } from "./peers/herald-peer.js";
import { DEFAULT_NATS_URL, startJetStreamPeer } from "./peers/jetstream-peer.js";
import { PUBSUB_CLIENT_LABEL, startPubsubClientPeer } from "./peers/pubsub-client-peer.js";
import { DEFAULT_AMQP_URL, startRabbitPeer } from "./peers/rabbitmq-peer.js";
import { formatTopOfProfile } from "./profile-top.js";
import {
  type BenchReport,
  compareFanOutToCeiling,
  formatContention,
  formatMachineFacts,
  formatTable,
  noteRow,
  writeReport,
} from "./report.js";
import {
  benchCeiling,
  benchHerald,
  benchPeer,
  type HeraldClientVariant,
  heraldLabel,
  liveCleanups,
  type RunState,
} from "./target-runs.js";
import { endToEnd } from "./workloads/end-to-end.js";
import { fanOut } from "./workloads/fan-out.js";
import { fixedRateLatency } from "./workloads/fixed-rate-latency.js";
import { publishThroughput } from "./workloads/publish-throughput.js";
import { pushDelivery } from "./workloads/push-delivery.js";
import { pushLatency } from "./workloads/push-latency.js";
import { singlePublish } from "./workloads/single-publish.js";
import type { Workload } from "./workloads/workload.js";

const WORKLOADS: readonly Workload[] = [
  publishThroughput,
  singlePublish,
  endToEnd,
  fixedRateLatency,
  pushDelivery,
  pushLatency,
  fanOut,
];
/** Table order: workloads first, then the ceiling rows. */
const ROW_ORDER = [...WORKLOADS.map((w) => w.id), "ceiling-insert", "ceiling-insert-text", "ceiling-claim"];

/**
 * Compiles Herald into COMPILED_SERVER_DIR (tsconfig.build.json), so the children run what a deployment runs:
 * the tsx loader adds ~50 MiB of resident memory and its transpiling to the server process.
 */
function buildServer(): void {
  console.log(`  building the server into ${COMPILED_SERVER_DIR}/ (tsc -p tsconfig.build.json) …`);
  const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  const args = [tsc, "-p", "tsconfig.build.json", "--outDir", COMPILED_SERVER_DIR];
  const result = spawnSync(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (result.status !== 0)
    throw new Error(`building the server failed (exit ${result.status ?? result.signal})`);
}

async function main(): Promise<number> {
  const cli = parseCli(process.argv.slice(2), [...WORKLOADS.map((w) => w.id), "ceiling"]);
  const settings = benchSettings(cli.isQuick, cli.overrides);
  const state: RunState = {
    cli,
    settings,
    workloads: WORKLOADS,
    resultsDir: join(REPO_ROOT, "bench", "results"),
    runTag: randomBytes(2).toString("hex"),
    startedAt: new Date().toISOString(),
    rows: [],
    missing: [],
    serverErrors: {},
    cpuProfiles: [],
  };
  console.log(`herald bench (${cli.isQuick ? "quick: 1 run, small counts" : `full: ${settings.runs} runs`})`);
  const machine = { ...baseMachineFacts(), serverRuntime: cli.serverRuntime };
  if (cli.serverRuntime === "dist") buildServer();
  const mysql = mysqlServerFromEnv();
  const mysqlProblem = await mysqlUnreachableReason(mysql);
  if (mysqlProblem === undefined) {
    machine.mysql = await mysqlFacts(mysql);
  } else {
    console.log(
      `  MySQL MISSING at ${mysql.displayUrl} (${mysqlProblem}): Herald-MySQL and the DB ceiling are skipped`,
    );
    state.missing.push({ label: "MySQL", reason: mysqlProblem });
  }
  // Under CI=true a missing MySQL is a failure, as in the test suites; a missing peer never is.
  const isMysqlRequired = process.env.CI === "true";
  const skipForMysql = (target: string, id: string, title: string) =>
    state.rows.push(noteRow(target, id, title, "skipped: MySQL not reachable", isMysqlRequired));

  if (cli.workloadIds.has("ceiling")) {
    if (mysqlProblem === undefined) await benchCeiling(state, mysql);
    else skipForMysql("MariaDB ceiling", "ceiling", "DB ceiling");
  } else if (cli.workloadIds.has(fanOut.id) && mysqlProblem === undefined) {
    // The fan-out row is compared to the INSERT ceiling, so measure that much of it.
    await benchCeiling(state, mysql, { insertsOnly: true });
  }
  // Herald's own rows use the connect-es client for every workload but the single-message one;
  // the grpc-js rows (a generated-style client, as in other stacks) run the two one-message-per-call
  // workloads the performance targets name.
  const connectClient: HeraldClientVariant = {
    start: startHeraldPeer,
    workloadIds: new Set(WORKLOADS.map((w) => w.id).filter((id) => id !== singlePublish.id)),
  };
  const grpcJsClient: HeraldClientVariant = {
    label: (backend) => `${heraldLabel(backend)}${GRPC_JS_SUFFIX}`,
    start: startGrpcJsPeer,
    workloadIds: new Set([singlePublish.id, fixedRateLatency.id]),
  };
  // The official client against the google.pubsub.v1 API of a Herald-MySQL child; push and
  // fan-out need Herald's own subscription layouts, so only the Peer-interface workloads run.
  // --quick leaves out the fixed-rate run (a child start plus ~8 s) to keep quick mode short.
  const pubsubClient: HeraldClientVariant = {
    label: () => PUBSUB_CLIENT_LABEL,
    start: startPubsubClientPeer,
    workloadIds: new Set([publishThroughput.id, endToEnd.id, ...(cli.isQuick ? [] : [fixedRateLatency.id])]),
  };
  const onMysql = async (variant: HeraldClientVariant) => {
    if (mysqlProblem === undefined) return benchHerald(state, "mysql", mysql, machine, variant);
    for (const w of WORKLOADS.filter((wl) => cli.workloadIds.has(wl.id) && variant.workloadIds.has(wl.id)))
      skipForMysql(variant.label?.("mysql") ?? heraldLabel("mysql"), w.id, w.title(settings));
  };
  if (cli.targets.has("herald-mysql")) {
    await onMysql(connectClient);
    await onMysql(grpcJsClient);
  }
  if (cli.targets.has("herald-pubsub")) await onMysql(pubsubClient);
  if (cli.targets.has("herald-sqlite")) {
    await benchHerald(state, "sqlite", mysql, machine, connectClient);
    await benchHerald(state, "sqlite", mysql, machine, grpcJsClient);
  }
  if (cli.targets.has("rabbitmq")) {
    const url = process.env.BENCH_AMQP_URL || DEFAULT_AMQP_URL;
    const version = await benchPeer(state, "RabbitMQ", () => startRabbitPeer(url));
    if (version) machine.rabbitmq = version;
  }
  if (cli.targets.has("jetstream")) {
    const url = process.env.BENCH_NATS_URL || DEFAULT_NATS_URL;
    const version = await benchPeer(state, "JetStream", () => startJetStreamPeer(url));
    if (version) machine.nats = version;
  }

  const position = (id: string) => (ROW_ORDER.includes(id) ? ROW_ORDER.indexOf(id) : ROW_ORDER.length);
  const rows = compareFanOutToCeiling(
    [...state.rows].sort((a, b) => position(a.workloadId) - position(b.workloadId)),
    fanOut.id,
  );
  const report: BenchReport = {
    startedAt: state.startedAt,
    finishedAt: new Date().toISOString(),
    mode: cli.isQuick ? "quick" : "full",
    settings,
    machine,
    missing: state.missing,
    rows,
    serverErrors: state.serverErrors,
    cpuProfiles: state.cpuProfiles,
  };
  const file = writeReport(state.resultsDir, report);
  console.log(`\n${formatTable(rows)}\n\n${formatMachineFacts(machine)}`);
  for (const m of state.missing) console.log(`MISSING: ${m.label} — ${m.reason}`);
  for (const line of formatContention(rows)) console.log(line);
  for (const [where, lines] of Object.entries(state.serverErrors)) {
    console.log(`Herald logged ${lines.length} error line(s) during ${where}; first: ${lines[0]}`);
  }
  for (const profile of state.cpuProfiles) console.log(`\n${formatTopOfProfile(profile)}`);
  console.log(`\nresults: ${file}`);
  return rows.some((r) => r.isFailure) ? 1 : 0;
}

let isInterrupted = false;
process.on("SIGINT", () => {
  if (isInterrupted) process.exit(130);
  isInterrupted = true;
  console.log("\ninterrupted: stopping Herald children and dropping bench databases…");
  void Promise.allSettled([...liveCleanups].map((c) => c())).then(() => process.exit(130));
});

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) console.error(`bench: ${err.message} (see npm run bench -- --help)`);
    else console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
