import type { Knex } from "knex";
import type { Dialect } from "./dialect.js";
import { toBigInt } from "./row-values.js";

function valuesInsertSql(table: string, columns: readonly string[], rowCount: number): string {
  const placeholders = `(${columns.map(() => "?").join(", ")})`;
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${Array.from({ length: rowCount }, () => placeholders).join(", ")}`;
}

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
  return db.raw(valuesInsertSql(table, columns, rows.length), rows.flat() as Knex.RawBinding[]);
}

/**
 * Inserts `rows` and returns their auto-increment `id`s, in the order of `rows`. The ids are read
 * back, never computed: under Galera (auto_increment_increment = cluster size) or
 * innodb_autoinc_lock_mode = 2 the ids of one statement need not form a contiguous block. Where
 * the server has `INSERT … RETURNING` (MariaDB ≥ 10.5, SQLite) that is still one statement; ids
 * within one statement grow in VALUES order, so sorting the returned ids maps them back to rows
 * (SQLite does not promise the order of RETURNING rows). Elsewhere (MySQL) each row is its own
 * statement, whose LAST_INSERT_ID is exact.
 */
export async function insertRowsReturningIds(
  db: Knex | Knex.Transaction,
  dialect: Dialect,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
): Promise<bigint[]> {
  if (rows.length === 0) return [];
  if (dialect.hasInsertReturning) {
    const sql = `${valuesInsertSql(table, columns, rows.length)} RETURNING id`;
    const result = (await db.raw(sql, rows.flat() as Knex.RawBinding[])) as unknown;
    // mysql2 answers [rows, fields]; better-sqlite3 answers the rows.
    const returned = (dialect.name === "mysql" ? (result as unknown[])[0] : result) as { id: unknown }[];
    if (returned.length !== rows.length) {
      throw new Error(`INSERT … RETURNING gave ${returned.length} ids for ${rows.length} rows`);
    }
    return returned.map((r) => toBigInt(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  const ids: bigint[] = [];
  for (const row of rows) {
    const [header] = (await db.raw(valuesInsertSql(table, columns, 1), row as Knex.RawBinding[])) as [
      { insertId: unknown },
    ];
    ids.push(toBigInt(header.insertId));
  }
  return ids;
}
