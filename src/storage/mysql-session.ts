/**
 * What every new MySQL connection does before the pool hands it out: a bound on each query,
 * READ COMMITTED (less gap locking on the claim index, see docs/mysql-queue-design.md), and on a
 * Galera node a check that the node is in the primary component and ready, plus the session's
 * `wsrep_sync_wait` (causal reads: a read or a lease-guarded UPDATE on this node waits until the
 * node has applied every write the cluster committed before it, e.g. another node's claim).
 */
import type { DatabaseHosts, WatchedConnection } from "./database-hosts.js";
import { boundQueries } from "./query-timeout.js";

type Callback = (err: unknown, rows?: unknown) => void;
export type SessionConnection = WatchedConnection & { query: (sql: string, cb: Callback) => void };

export interface MysqlSessionOptions {
  hosts: DatabaseHosts;
  /** Bound on one query, ms (0: none). */
  queryTimeoutMs: number;
  /** Session wsrep_sync_wait on Galera nodes (bit mask: 1 reads, 2 UPDATE/DELETE, 4 INSERT/REPLACE). */
  wsrepSyncWait: number;
}

function run(conn: SessionConnection, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    conn.query(sql, (err: unknown, rows?: unknown) =>
      err ? reject(err) : resolve((rows ?? []) as Record<string, unknown>[]),
    );
  });
}

/** The error of a Galera node that is not usable (outside the primary component, or not synced). */
export function nodeNotReady(detail: string): Error & { code: string } {
  return Object.assign(new Error(`database node not ready: ${detail}`), { code: "ER_UNKNOWN_COM_ERROR" });
}

/** Prepares `conn` (see the file comment); rejects when the node may not be used. */
export async function prepareMysqlSession(
  conn: SessionConnection,
  options: MysqlSessionOptions,
): Promise<void> {
  const { hosts } = options;
  const index = hosts.hostOf(conn);
  if (options.queryTimeoutMs > 0)
    boundQueries(conn as unknown as Parameters<typeof boundQueries>[0], options.queryTimeoutMs);
  hosts.watch(conn, index);
  await run(conn, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
  // Empty on MySQL and OFF on a MariaDB without a cluster: nothing more to check.
  const [wsrep] = await run(conn, "SHOW GLOBAL VARIABLES LIKE 'wsrep_on'");
  if (String(wsrep?.Value ?? "OFF").toUpperCase() !== "ON") {
    hosts.reportHealthy(index, undefined);
    return;
  }
  const rows = await run(
    conn,
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status', 'wsrep_local_state_comment')",
  );
  const status = Object.fromEntries(rows.map((r) => [String(r.Variable_name), String(r.Value)]));
  if (status.wsrep_ready !== "ON" || status.wsrep_cluster_status !== "Primary") {
    const error = nodeNotReady(
      `wsrep_ready=${status.wsrep_ready}, cluster status ${status.wsrep_cluster_status}, state ${status.wsrep_local_state_comment}`,
    );
    hosts.reportFailure(index, error);
    throw error;
  }
  await run(conn, `SET SESSION wsrep_sync_wait = ${Math.trunc(options.wsrepSyncWait)}`);
  hosts.reportHealthy(index, true);
}
