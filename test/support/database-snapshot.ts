/**
 * A fingerprint of every table in a Herald database (row count and a digest of every row's
 * content), to prove that a rejected call changed nothing. Works on SQLite and MySQL through knex.
 */
import { createHash } from "node:crypto";
import type { Knex } from "knex";

export interface TableFingerprint {
  rows: number;
  /** SHA-256 over every row's columns and values (order-independent). */
  digest: string;
}

export type DatabaseSnapshot = ReadonlyMap<string, TableFingerprint>;

/** Every base table of the connected database (migration bookkeeping included). */
export async function listTables(knex: Knex): Promise<string[]> {
  if (knex.client.config.client === "mysql2") {
    const [rows] = (await knex.raw("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'")) as [
      Record<string, string>[],
    ];
    return rows.map((r) => Object.values(r)[0] as string).sort();
  }
  const rows = (await knex.raw(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
  )) as { name: string }[];
  return rows.map((r) => r.name).sort();
}

function canonical(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString("hex")}`;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value) ?? "undefined";
}

async function fingerprint(knex: Knex, table: string): Promise<TableFingerprint> {
  const rows = (await knex(table).select("*")) as Record<string, unknown>[];
  // Sorted in memory: no assumption about keys, and the same order on both databases.
  const lines = rows.map(rowText).sort();
  const hash = createHash("sha256");
  for (const line of lines) hash.update(line).update("\n");
  return { rows: rows.length, digest: hash.digest("hex").slice(0, 16) };
}

function rowText(row: Record<string, unknown>): string {
  return Object.keys(row)
    .sort()
    .map((k) => `${k}=${canonical(row[k])}`)
    .join("|");
}

/** Row count and content digest of every table (of `tables`, when the caller already listed them). */
export async function snapshotDatabase(knex: Knex, tables?: readonly string[]): Promise<DatabaseSnapshot> {
  const names = tables ?? (await listTables(knex));
  if (names.length === 0) return new Map();
  if (knex.client.config.client === "mysql2") return mysqlSnapshot(knex, names);
  const prints = await Promise.all(names.map((name) => fingerprint(knex, name)));
  return new Map(names.map((name, i) => [name, prints[i] as TableFingerprint]));
}

/**
 * MySQL in two round trips: exact counts in one UNION ALL, contents through CHECKSUM TABLE (a
 * live, full-scan checksum of every row), instead of shipping every row to the test.
 */
async function mysqlSnapshot(knex: Knex, names: readonly string[]): Promise<DatabaseSnapshot> {
  const counts = knex.raw(
    names.map(() => "SELECT ? AS name, COUNT(*) AS n FROM ??").join(" UNION ALL "),
    names.flatMap((name) => [name, name]),
  );
  const sums = knex.raw(`CHECKSUM TABLE ${names.map(() => "??").join(", ")}`, [...names]);
  const [[countRows], [sumRows]] = (await Promise.all([counts, sums])) as [
    [{ name: string; n: number | string }[]],
    [{ Table: string; Checksum: number | string | null }[]],
  ];
  const digestOf = new Map(sumRows.map((r) => [r.Table.slice(r.Table.indexOf(".") + 1), String(r.Checksum)]));
  return new Map(
    countRows.map((r) => [r.name, { rows: Number(r.n), digest: digestOf.get(r.name) ?? "missing" }]),
  );
}

/** Human-readable differences between two snapshots; empty when nothing changed. */
export function snapshotDifferences(before: DatabaseSnapshot, after: DatabaseSnapshot): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  const differences: string[] = [];
  for (const name of [...names].sort()) {
    const a = before.get(name);
    const b = after.get(name);
    if (!a) differences.push(`${name}: table appeared`);
    else if (!b) differences.push(`${name}: table disappeared`);
    else if (a.rows !== b.rows) differences.push(`${name}: ${a.rows} → ${b.rows} rows`);
    else if (a.digest !== b.digest) differences.push(`${name}: row contents changed`);
  }
  return differences;
}

/**
 * SQLite's count of rows written on the connection (`total_changes()`); Herald's SQLite pool has
 * exactly one connection, so it moves on every write the server makes. Undefined on MySQL.
 */
async function sqliteWriteCounter(knex: Knex): Promise<bigint | undefined> {
  if (knex.client.config.client !== "better-sqlite3") return undefined;
  const [row] = (await knex.raw("SELECT total_changes() AS n")) as { n: bigint | number }[];
  return row === undefined ? undefined : BigInt(row.n);
}

/**
 * Snapshots on demand, cheaply, for thousands of cases: on SQLite the last snapshot is reused while
 * `total_changes()` shows no write since; the table list is read once (a table dropped later makes
 * the next snapshot fail loudly, which is what a test wants to see).
 */
export class DatabaseWatcher {
  private cached: { counter: bigint; snapshot: DatabaseSnapshot } | undefined;
  private tables: string[] | undefined;

  constructor(private readonly knex: Knex) {}

  async snapshot(): Promise<DatabaseSnapshot> {
    const counter = await sqliteWriteCounter(this.knex);
    if (counter !== undefined && this.cached?.counter === counter) return this.cached.snapshot;
    this.tables ??= await listTables(this.knex);
    const snapshot = await snapshotDatabase(this.knex, this.tables);
    if (counter !== undefined) this.cached = { counter, snapshot };
    return snapshot;
  }
}
