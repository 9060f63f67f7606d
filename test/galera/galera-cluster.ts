/**
 * A MariaDB Galera cluster on loopback ports for tests: each node a `mariadbd` with its own data
 * directory in one temp folder, the first bootstrapped (`--wsrep-new-cluster`, its data created by
 * mariadb-install-db), the others joining by state transfer (SST with rsync into an empty data
 * directory). Nodes can be killed (-9), isolated from the others (`gmcast.isolate`, which leaves
 * the node in a non-primary component) and started again (IST or SST). `destroy()` kills every
 * node and deletes the folder; a worker that exits kills what is left. Never touches the shared
 * server on 3306: every port is a free one picked here.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import knexFactory, { type Knex } from "knex";
import { freePort } from "../support/free-port.js";

const run = promisify(execFile);

const SERVER = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"].find(existsSync);
const INSTALL = ["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"].find(existsSync);
const PROVIDER = [
  "/usr/lib/galera/libgalera_smm.so",
  "/usr/lib/libgalera_smm.so",
  "/usr/lib64/galera-4/libgalera_smm.so",
].find(existsSync);

/** uid and gid of `nobody`/`nogroup` on Debian. */
const NOBODY = 65_534;

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Why a Galera cluster cannot be started here, or undefined when it can. */
export function galeraUnavailableReason(): string | undefined {
  if (!SERVER) return "no mariadbd binary";
  if (!INSTALL) return "no mariadb-install-db";
  if (!PROVIDER) return "no libgalera_smm.so (apt-get install galera-4)";
  if (!existsSync("/usr/bin/rsync")) return "no rsync (apt-get install rsync) for SST";
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const quietLog = {
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  deprecate: () => undefined,
};

export interface GaleraNode {
  readonly index: number;
  /** The SQL port on 127.0.0.1. */
  readonly port: number;
  readonly isRunning: boolean;
  /** `127.0.0.1:<port>`, as DATABASE_URL hosts are written. */
  readonly hostPort: string;
  /** The server's stderr (last lines), for failure messages. */
  log(): string;
}

export interface GaleraStatus {
  clusterSize: number;
  clusterStatus: string;
  ready: string;
  state: string;
}

export interface GaleraCluster {
  readonly nodes: readonly GaleraNode[];
  /** mysql://root@h1:p1,h2:p2,h3:p3/<database>, the nodes in `order` (default 0, 1, 2). */
  url(database: string, order?: readonly number[]): string;
  /** Starts node `index` (joining the running nodes); resolves once it is synced. */
  start(index: number): Promise<number>;
  /** SIGKILL (default) or SIGTERM node `index` and wait for its exit. */
  stop(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Cuts node `index` off the group communication (it becomes non-primary), or lets it back. */
  isolate(index: number, isolated: boolean): Promise<void>;
  /** wsrep status of node `index`, or undefined when it does not answer. */
  status(index: number): Promise<GaleraStatus | undefined>;
  /** Waits until every running node reports a primary component of `size` and is synced. */
  waitForSize(size: number, timeoutMs?: number): Promise<void>;
  /** A query on node `index` (a fresh connection, closed after). */
  query<T = Record<string, unknown>>(index: number, sql: string, bindings?: unknown[]): Promise<T[]>;
  /** Kills every node and deletes the data. */
  destroy(): Promise<void>;
}

interface NodeState {
  index: number;
  port: number;
  groupPort: number;
  istPort: number;
  sstPort: number;
  dir: string;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  output: string[];
}

/**
 * Creates and starts a cluster of `size` nodes (3 by default): node 0 bootstraps, the others join
 * one after another (SST). Resolves once every node is synced in one primary component.
 */
export async function startGaleraCluster(
  size = 3,
  extraArgs: readonly string[] = [],
): Promise<GaleraCluster> {
  const reason = galeraUnavailableReason();
  if (reason) throw new Error(reason);
  const base = mkdtempSync(join(tmpdir(), "herald-galera-"));
  const user = userInfo().username;
  const states: NodeState[] = [];
  for (let index = 0; index < size; index++) {
    states.push({
      index,
      port: await freePort(),
      groupPort: await freePort(),
      istPort: await freePort(),
      sstPort: await freePort(),
      dir: join(base, `node${index}`),
      child: undefined,
      exited: Promise.resolve(),
      output: [],
    });
  }
  const groupAddress = `gcomm://${states.map((s) => `127.0.0.1:${s.groupPort}`).join(",")}`;
  // Only the bootstrap node is initialised; joiners receive its data by SST.
  const first = states[0] as NodeState;
  mkdirSync(first.dir, { recursive: true });
  await run(INSTALL as string, [
    "--no-defaults",
    `--datadir=${join(first.dir, "data")}`,
    `--user=${user}`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ]);
  for (const s of states.slice(1)) mkdirSync(join(s.dir, "data"), { recursive: true });

  const isRunning = (s: NodeState) =>
    s.child !== undefined && s.child.exitCode === null && s.child.signalCode === null;

  const connect = (s: NodeState): Knex =>
    knexFactory({
      client: "mysql2",
      connection: { host: "127.0.0.1", port: s.port, user: "root", connectTimeout: 2_000 },
      pool: { min: 0, max: 1 },
      log: quietLog,
    });

  const query = async <T>(index: number, sql: string, bindings: unknown[] = []): Promise<T[]> => {
    const knex = connect(states[index] as NodeState);
    try {
      const [rows] = (await knex.raw(sql, bindings as Knex.RawBinding[])) as [T[]];
      return rows;
    } finally {
      await knex.destroy();
    }
  };

  const status = async (index: number): Promise<GaleraStatus | undefined> => {
    try {
      const rows = await query<{ Variable_name: string; Value: string }>(
        index,
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_ready', 'wsrep_local_state_comment')",
      );
      const v = Object.fromEntries(rows.map((r) => [r.Variable_name, r.Value]));
      return {
        clusterSize: Number(v.wsrep_cluster_size ?? 0),
        clusterStatus: v.wsrep_cluster_status ?? "",
        ready: v.wsrep_ready ?? "",
        state: v.wsrep_local_state_comment ?? "",
      };
    } catch {
      return undefined;
    }
  };

  const waitSynced = async (s: NodeState, started: number, timeoutMs: number): Promise<void> => {
    for (;;) {
      const st = await status(s.index);
      if (st?.ready === "ON" && st.state === "Synced" && st.clusterStatus === "Primary") return;
      if (!isRunning(s)) throw new Error(`galera node ${s.index} exited during start:\n${s.output.join("")}`);
      if (Date.now() - started > timeoutMs)
        throw new Error(`galera node ${s.index} not synced within ${timeoutMs} ms:\n${s.output.join("")}`);
      await sleep(200);
    }
  };

  const serverArgs = (s: NodeState, bootstrap: boolean): string[] => [
    "--no-defaults",
    `--datadir=${join(s.dir, "data")}`,
    `--port=${s.port}`,
    "--bind-address=127.0.0.1",
    `--socket=${join(s.dir, "mysqld.sock")}`,
    `--pid-file=${join(s.dir, "mysqld.pid")}`,
    `--user=${user}`,
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=48M",
    "--max-connections=300",
    "--binlog-format=ROW",
    "--innodb-autoinc-lock-mode=2",
    "--default-storage-engine=InnoDB",
    "--wsrep-on=ON",
    `--wsrep-provider=${PROVIDER}`,
    `--wsrep-cluster-address=${groupAddress}`,
    "--wsrep-cluster-name=herald-test",
    `--wsrep-node-name=node${s.index}`,
    `--wsrep-node-address=127.0.0.1:${s.groupPort}`,
    `--wsrep-node-incoming-address=127.0.0.1:${s.port}`,
    "--wsrep-sst-method=rsync",
    `--wsrep-sst-receive-address=127.0.0.1:${s.sstPort}`,
    // Short failure detection, so a killed node leaves the component within seconds.
    `--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:${s.groupPort};ist.recv_addr=127.0.0.1:${s.istPort};evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S;evs.install_timeout=PT4S;evs.keepalive_period=PT0.5S;gcache.size=64M`,
    ...(bootstrap ? ["--wsrep-new-cluster"] : []),
    ...extraArgs,
  ];

  /**
   * The last committed position of a node that was killed (grastate.dat says -1), read by
   * `mariadbd --wsrep-recover` as galera_recovery does: with it the node rejoins by IST from the
   * donor's gcache instead of a full SST (which would block writes on the donor meanwhile).
   */
  const recoveredPosition = async (s: NodeState): Promise<string | undefined> => {
    const log = join(s.dir, "recover.log");
    rmSync(log, { force: true });
    await run(SERVER as string, [...serverArgs(s, false), "--wsrep-recover", `--log-error=${log}`]).catch(
      () => undefined,
    );
    const text = existsSync(log) ? readFileSync(log, "utf8") : "";
    return /WSREP: Recovered position: (\S+:-?\d+)/.exec(text)?.[1];
  };

  const start = async (index: number, bootstrap = false): Promise<number> => {
    const s = states[index] as NodeState;
    if (isRunning(s)) return 0;
    const started = Date.now();
    const data = join(s.dir, "data");
    const args = serverArgs(s, bootstrap);
    if (!bootstrap && existsSync(join(data, "grastate.dat"))) {
      const position = await recoveredPosition(s);
      if (position) args.push(`--wsrep-start-position=${position}`);
    }
    // Run as root, a joiner's rsync daemon (SST) drops to `nobody`, which must be able to write here.
    if (!bootstrap && process.getuid?.() === 0) await run("chown", ["-R", `${NOBODY}:${NOBODY}`, data]);
    const proc = spawn(SERVER as string, args, { stdio: ["ignore", "ignore", "pipe"] });
    s.child = proc;
    s.output = [];
    running.add(proc);
    proc.stderr?.on("data", (chunk: Buffer) => {
      if (process.env.GALERA_KEEP === "1") appendFileSync(join(s.dir, "error.log"), chunk);
      s.output.push(chunk.toString("utf8"));
      if (s.output.length > 300) s.output.shift();
    });
    s.exited = new Promise((resolve) => {
      proc.once("exit", () => {
        running.delete(proc);
        resolve();
      });
    });
    await waitSynced(s, started, 120_000);
    return Date.now() - started;
  };

  const stop = async (index: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> => {
    const s = states[index] as NodeState;
    if (!isRunning(s)) return;
    s.child?.kill(signal);
    const timer = setTimeout(() => s.child?.kill("SIGKILL"), 60_000);
    await s.exited;
    clearTimeout(timer);
  };

  const cluster: GaleraCluster = {
    nodes: states.map((s) => ({
      index: s.index,
      port: s.port,
      hostPort: `127.0.0.1:${s.port}`,
      get isRunning() {
        return isRunning(s);
      },
      log: () => s.output.join(""),
    })),
    url: (database, order = states.map((s) => s.index)) =>
      `mysql://root@${order.map((i) => `127.0.0.1:${(states[i] as NodeState).port}`).join(",")}/${database}`,
    start: (index) => start(index),
    stop,
    async isolate(index, isolated) {
      await query(index, "SET GLOBAL wsrep_provider_options = ?", [`gmcast.isolate=${isolated ? 1 : 0}`]);
    },
    status,
    async waitForSize(size, timeoutMs = 60_000) {
      const started = Date.now();
      for (;;) {
        const live = states.filter(isRunning);
        const all = await Promise.all(live.map((s) => status(s.index)));
        if (
          all.every(
            (st) => st?.clusterSize === size && st.clusterStatus === "Primary" && st.state === "Synced",
          )
        )
          return;
        if (Date.now() - started > timeoutMs)
          throw new Error(`cluster size ${size} not reached within ${timeoutMs} ms: ${JSON.stringify(all)}`);
        await sleep(200);
      }
    },
    query,
    async destroy() {
      await Promise.all(states.map((s) => stop(s.index, "SIGKILL")));
      // GALERA_KEEP=1 keeps the data directories and logs for a post-mortem.
      if (process.env.GALERA_KEEP !== "1") rmSync(base, { recursive: true, force: true });
    },
  };

  try {
    await start(0, true);
    for (let index = 1; index < size; index++) await start(index);
    await cluster.waitForSize(size);
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}
