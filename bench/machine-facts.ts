/** Facts about the machine and the servers that the numbers depend on, recorded with every run. */
import { readFileSync } from "node:fs";
import os from "node:os";
import Database from "better-sqlite3";
import { connectMysql, type MysqlServer } from "./bench-databases.js";
import { findOnlyProcess } from "./process-meter.js";

export interface MysqlFacts {
  url: string;
  version: string;
  innodbFlushLogAtTrxCommit: string;
  syncBinlog: string;
  logBin: string;
  innodbBufferPoolSizeMiB: number;
  innodbDoublewrite: string;
  /** The server's pid when it runs on this machine and its pid file is readable (for CPU readings). */
  pid?: number;
}

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** 1, 5 and 15 minute load averages when the bench started: other work on the machine skews results. */
  loadAverageAtStart: number[];
  sqlite: string;
  /** How the Herald children ran: "dist" (the compiled build) or "tsx" (the TypeScript sources). */
  serverRuntime?: string;
  /** HERALD_* variables inherited by the Herald child (HERALD_ADDR and HERALD_LOG_LEVEL are overridden). */
  heraldEnv: Record<string, string>;
  mysql?: MysqlFacts;
  rabbitmq?: string;
  nats?: string;
}

export function baseMachineFacts(): MachineFacts {
  const db = new Database(":memory:");
  try {
    const { v } = db.prepare("SELECT sqlite_version() AS v").get() as { v: string };
    return {
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      cores: os.availableParallelism(),
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      kernel: `${os.type()} ${os.release()}`,
      node: process.version,
      loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
      sqlite: v,
      heraldEnv: Object.fromEntries(
        Object.entries(process.env).filter(
          (e): e is [string, string] =>
            e[0].startsWith("HERALD_") &&
            !["HERALD_ADDR", "HERALD_LOG_LEVEL"].includes(e[0]) &&
            e[1] !== undefined,
        ),
      ),
    };
  } finally {
    db.close();
  }
}

/**
 * The server's pid when it runs on this machine: from its pid file, or else the one process named
 * mariadbd (or mysqld) in /proc (a pid file the bench may not read, e.g. another user's).
 */
function localPid(pidFile: string | null, host: string): number | undefined {
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(host)) return undefined;
  try {
    if (!pidFile) throw new Error("no pid file");
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    readFileSync(`/proc/${pid}/stat`);
    return pid;
  } catch {
    return findOnlyProcess("mariadbd") ?? findOnlyProcess("mysqld");
  }
}

export async function mysqlFacts(server: MysqlServer): Promise<MysqlFacts> {
  const conn = await connectMysql(server);
  try {
    const [rows] = (await conn.query(
      `SELECT VERSION() AS version, @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS sync_binlog,
              @@log_bin AS log_bin, @@innodb_buffer_pool_size AS pool, @@innodb_doublewrite AS doublewrite,
              @@pid_file AS pid_file`,
    )) as [Record<string, string | number | null>[], unknown];
    const r = rows[0] ?? {};
    const pid = localPid(r.pid_file === null ? null : String(r.pid_file), server.connection.host);
    return {
      url: server.displayUrl,
      version: String(r.version),
      innodbFlushLogAtTrxCommit: String(r.flush),
      syncBinlog: String(r.sync_binlog),
      logBin: String(r.log_bin),
      innodbBufferPoolSizeMiB: Math.round(Number(r.pool) / 2 ** 20),
      innodbDoublewrite: String(r.doublewrite),
      ...(pid === undefined ? {} : { pid }),
    };
  } finally {
    await conn.end();
  }
}
