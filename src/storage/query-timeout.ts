/**
 * A bound on every MySQL query. mysql2 has no pool-wide query timeout, and a database that stops
 * answering without closing its connections (a partition, a frozen server) would otherwise hang a
 * query — and the call waiting on it, and shutdown — until TCP gives up many minutes later.
 */

/** mysql2's error for a query that outlived its `timeout`. */
export const QUERY_TIMEOUT_CODE = "PROTOCOL_SEQUENCE_TIMEOUT";

interface QueryableConnection {
  query: (...args: unknown[]) => unknown;
  destroy: () => void;
}

/**
 * Makes every query on `conn` carry a `timeout` of `timeoutMs` (unless it sets its own) and
 * destroys the connection when one fires: the late answer would otherwise arrive on a connection
 * already reused for another query. knex's pool then discards the destroyed connection.
 */
export function boundQueries(conn: QueryableConnection, timeoutMs: number): void {
  const query = conn.query.bind(conn);
  conn.query = (...args: unknown[]) => {
    const [first, ...rest] = args;
    const options =
      typeof first === "string"
        ? { sql: first, timeout: timeoutMs }
        : { timeout: timeoutMs, ...(first as object) };
    const callbackAt = rest.findIndex((a) => typeof a === "function");
    if (callbackAt >= 0) {
      const callback = rest[callbackAt] as (err: unknown, ...results: unknown[]) => void;
      rest[callbackAt] = (err: unknown, ...results: unknown[]) => {
        if ((err as { code?: unknown } | null)?.code === QUERY_TIMEOUT_CODE) conn.destroy();
        callback(err, ...results);
      };
    }
    return query(options, ...rest);
  };
}
