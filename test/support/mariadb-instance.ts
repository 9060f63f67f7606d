/**
 * A dedicated MariaDB server owned by one test: its own data directory (mariadb-install-db) and
 * port, started and stopped by the test, so a scenario can restart "the database" without touching
 * the shared server other suites use. Root has no password; the server binds 127.0.0.1 only.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import knexFactory from "knex";
import { freePort } from "./free-port.js";

const run = promisify(execFile);

const SERVER_CANDIDATES = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld", "/usr/bin/mariadbd"];
const INSTALL_CANDIDATES = ["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"];

const running = new Set<ChildProcess>();
// A worker that dies must not leave a database server behind.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface MariadbInstance {
  readonly port: number;
  readonly dataDir: string;
  /** mysql://root@127.0.0.1:<port>/<database> */
  url(database: string): string;
  readonly isRunning: boolean;
  /** Starts the server and resolves once it answers a query; resolves with how long that took, ms. */
  start(): Promise<number>;
  /** Stops the server with `signal` (SIGTERM: clean shutdown) and waits for the exit; resolves with the time, ms. */
  stop(signal?: NodeJS.Signals): Promise<number>;
  /** Stops the server (if running) and deletes its data directory. */
  destroy(): Promise<void>;
  /** The server's log (stderr), for failure messages. */
  log(): string;
}

/** Why a dedicated instance cannot be started here, or undefined when it can. */
export function mariadbUnavailableReason(): string | undefined {
  if (!SERVER_CANDIDATES.some(existsSync))
    return `no MariaDB server binary (${SERVER_CANDIDATES.join(", ")})`;
  if (!INSTALL_CANDIDATES.some(existsSync)) return `no mariadb-install-db (${INSTALL_CANDIDATES.join(", ")})`;
  return undefined;
}

/** Creates a data directory and picks a port; the server is not started yet. */
export async function createMariadbInstance(): Promise<MariadbInstance> {
  const reason = mariadbUnavailableReason();
  if (reason) throw new Error(reason);
  const server = SERVER_CANDIDATES.find(existsSync) as string;
  const install = INSTALL_CANDIDATES.find(existsSync) as string;
  const base = mkdtempSync(join(tmpdir(), "herald-mariadb-"));
  const dataDir = join(base, "data");
  const user = userInfo().username;
  // --no-defaults: the system my.cnf (user=mysql, shared datadir and socket) must not apply.
  await run(install, [
    "--no-defaults",
    `--datadir=${dataDir}`,
    `--user=${user}`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ]);
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const output: string[] = [];

  const ping = async (): Promise<boolean> => {
    const knex = knexFactory({
      client: "mysql2",
      connection: { host: "127.0.0.1", port, user: "root", connectTimeout: 1_000 },
      pool: { min: 0, max: 1 },
      // Refused connections are expected while the server starts; knex would print each one.
      log: {
        warn: () => undefined,
        error: () => undefined,
        debug: () => undefined,
        deprecate: () => undefined,
      },
    });
    try {
      await knex.raw("SELECT 1");
      return true;
    } catch {
      return false;
    } finally {
      await knex.destroy();
    }
  };

  const instance: MariadbInstance = {
    port,
    dataDir,
    url: (database) => `mysql://root@127.0.0.1:${port}/${database}`,
    get isRunning() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (instance.isRunning) return 0;
      const started = Date.now();
      const proc = spawn(
        server,
        [
          "--no-defaults",
          `--datadir=${dataDir}`,
          `--port=${port}`,
          "--bind-address=127.0.0.1",
          `--socket=${join(base, "mysqld.sock")}`,
          `--pid-file=${join(base, "mysqld.pid")}`,
          `--user=${user}`,
          "--skip-log-bin",
          "--innodb-buffer-pool-size=128M",
          "--max-connections=500",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      child = proc;
      running.add(proc);
      proc.stderr?.on("data", (chunk: Buffer) => {
        output.push(chunk.toString("utf8"));
        if (output.length > 500) output.shift();
      });
      exited = new Promise((resolve) => {
        proc.once("exit", () => {
          running.delete(proc);
          resolve();
        });
      });
      while (!(await ping())) {
        if (!instance.isRunning) throw new Error(`mariadbd exited during start:\n${output.join("")}`);
        if (Date.now() - started > 60_000)
          throw new Error(`mariadbd did not answer within 60 s:\n${output.join("")}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return Date.now() - started;
    },
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (!instance.isRunning || !child) return 0;
      const started = Date.now();
      child.kill(signal);
      const timer = setTimeout(() => child?.kill("SIGKILL"), 60_000);
      await exited;
      clearTimeout(timer);
      return Date.now() - started;
    },
    async destroy() {
      await instance.stop("SIGKILL");
      rmSync(base, { recursive: true, force: true });
    },
    log: () => output.join(""),
  };
  return instance;
}
