/**
 * Fresh databases for each Herald child: a new MySQL database on BENCH_MYSQL_URL's server, or an
 * SQLite file in a new temp directory. Both are removed by drop().
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";

export type BackendKind = "mysql" | "sqlite";

export interface BenchDatabase {
  kind: BackendKind;
  /** DATABASE_URL for Herald. */
  url: string;
  /** Removes the database (MySQL: DROP DATABASE; SQLite: the temp directory). Safe to call twice. */
  drop(): Promise<void>;
}

export const DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/herald_bench";

/** The MySQL server to use and the prefix of database names, from BENCH_MYSQL_URL. */
export interface MysqlServer {
  /** URL without secrets, for reports. */
  displayUrl: string;
  connection: { host: string; port: number; user: string; password: string };
  /** Each fresh database is `<prefix>_<random hex>`. */
  databasePrefix: string;
}

export function mysqlServerFromEnv(env: Record<string, string | undefined> = process.env): MysqlServer {
  const raw = env.BENCH_MYSQL_URL || DEFAULT_MYSQL_URL;
  const url = new URL(raw);
  if (url.protocol !== "mysql:" && url.protocol !== "mariadb:") {
    throw new Error("BENCH_MYSQL_URL must be a mysql:// URL, e.g. mysql://root@127.0.0.1:3306/herald_bench");
  }
  const databasePrefix = decodeURIComponent(url.pathname.slice(1)) || "herald_bench";
  if (!/^[A-Za-z0-9_]{1,40}$/.test(databasePrefix)) {
    throw new Error("BENCH_MYSQL_URL's database name must be 1..40 letters, digits or underscores");
  }
  const display = new URL(raw);
  if (display.password !== "") display.password = "***";
  return {
    displayUrl: display.toString(),
    connection: {
      host: url.hostname,
      port: url.port === "" ? 3306 : Number(url.port),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    },
    databasePrefix,
  };
}

/** A connection to the server (no database selected); the caller ends it. */
export function connectMysql(server: MysqlServer, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    ...server.connection,
    ...(database ? { database } : {}),
    connectTimeout: 3_000,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
}

/** Why the server cannot be used, or undefined when it answers. */
export async function mysqlUnreachableReason(server: MysqlServer): Promise<string | undefined> {
  try {
    const conn = await connectMysql(server);
    await conn.end();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A fresh database name on `server`; Herald creates it at start, drop() removes it. */
export async function createMysqlDatabase(server: MysqlServer): Promise<BenchDatabase & { name: string }> {
  const name = `${server.databasePrefix}_${randomBytes(5).toString("hex")}`;
  const url = new URL("mysql://host");
  url.hostname = server.connection.host;
  url.port = String(server.connection.port);
  url.username = encodeURIComponent(server.connection.user);
  url.password = encodeURIComponent(server.connection.password);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    kind: "mysql",
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      const conn = await connectMysql(server);
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}

/** An SQLite file in a new temp directory. */
export function createSqliteDatabase(): BenchDatabase {
  const dir = mkdtempSync(join(tmpdir(), "herald-bench-"));
  return {
    kind: "sqlite",
    url: `sqlite:${join(dir, "herald.db")}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}
