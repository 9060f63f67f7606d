import type { Knex } from "knex";

/**
 * `INSERT INTO t (cols) VALUES (…), (…)` as one statement on both databases. knex compiles
 * multi-row inserts on SQLite as `SELECT … UNION ALL …`, which hits SQLite's 500-term compound
 * limit; plain VALUES lists have no such limit and are a "simple insert" for InnoDB.
 * Returns the driver's raw result (insert id and affected rows).
 */
export async function insertRows(
  db: Knex | Knex.Transaction,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
): Promise<unknown> {
  const placeholders = `(${columns.map(() => "?").join(", ")})`;
  const sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${rows.map(() => placeholders).join(", ")}`;
  return db.raw(sql, rows.flat() as Knex.RawBinding[]);
}
