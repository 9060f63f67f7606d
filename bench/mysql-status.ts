/**
 * Statement, commit and fsync counts from the MySQL/MariaDB server's global status, read before
 * and after a measured window. The counters are server-wide: anything else using the server during
 * the window is counted too, so these figures mean something only when nothing else runs.
 */
import type mysql from "mysql2/promise";
import { connectMysql, type MysqlServer } from "./bench-databases.js";

/** Data statements (each INSERT … SELECT, multi-table UPDATE or DELETE counts as one). */
const STATEMENT_COUNTERS = [
  "Com_select",
  "Com_insert",
  "Com_insert_select",
  "Com_update",
  "Com_update_multi",
  "Com_delete",
  "Com_delete_multi",
  "Com_replace",
  "Com_replace_select",
];
const OTHER_COUNTERS = [
  "Questions",
  "Com_commit",
  "Com_rollback",
  "Handler_commit",
  "Innodb_data_fsyncs",
  "Innodb_os_log_fsyncs",
];

/** Counter deltas over one measured window (all server-wide). */
export interface MysqlStatusDelta {
  /** SELECT/INSERT/UPDATE/DELETE/REPLACE statements (Com_* counters above). */
  statements: number;
  /** Every statement clients sent (Questions), BEGIN/COMMIT/SET included, the status reads excluded. */
  questions: number;
  /** Explicit COMMIT statements (Com_commit); autocommit statements commit without one. */
  commits: number;
  rollbacks: number;
  /** Storage-engine commits (Handler_commit), including autocommit and read-only statements. */
  handlerCommits: number;
  /** InnoDB fsyncs of data and redo log files (Innodb_data_fsyncs): the durable writes after group commit. */
  fsyncs: number;
  /** Redo-log fsyncs alone, where the server reports them (MySQL, MariaDB < 10.8). */
  logFsyncs?: number;
}

export interface MysqlStatusReader {
  /** Starts a window; finish() returns the deltas since. */
  start(): Promise<{ finish(): Promise<MysqlStatusDelta> }>;
  close(): Promise<void>;
}

async function readCounters(conn: mysql.Connection): Promise<Map<string, number>> {
  const names = [...STATEMENT_COUNTERS, ...OTHER_COUNTERS];
  const [rows] = (await conn.query(
    `SHOW GLOBAL STATUS WHERE Variable_name IN (${names.map(() => "?").join(", ")})`,
    names,
  )) as [{ Variable_name: string; Value: string }[], unknown];
  return new Map(rows.map((r) => [r.Variable_name, Number(r.Value)]));
}

/** A reader on its own connection to `server`; close() ends it. */
export async function openMysqlStatusReader(server: MysqlServer): Promise<MysqlStatusReader> {
  const conn = await connectMysql(server);
  return {
    async start() {
      const before = await readCounters(conn);
      return {
        async finish() {
          const after = await readCounters(conn);
          const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
          const logFsyncs = after.has("Innodb_os_log_fsyncs") ? delta("Innodb_os_log_fsyncs") : undefined;
          return {
            statements: STATEMENT_COUNTERS.reduce((sum, name) => sum + delta(name), 0),
            // The window's own SHOW GLOBAL STATUS (the closing one) counts as one question.
            questions: Math.max(0, delta("Questions") - 1),
            commits: delta("Com_commit"),
            rollbacks: delta("Com_rollback"),
            handlerCommits: delta("Handler_commit"),
            fsyncs: delta("Innodb_data_fsyncs"),
            ...(logFsyncs === undefined ? {} : { logFsyncs }),
          };
        },
      };
    },
    close: () => conn.end(),
  };
}
