/** Opens the database named by DATABASE_URL: knex, dialect, pragmas/session settings, migrations. */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import knexFactory, { type Knex } from "knex";
import type { SecretSealer } from "../app/auth/secret-box.js";
import type { Store } from "../app/ports/store.js";
import type { Logger } from "../logger.js";
import { parseDatabaseUrl } from "./database-url.js";
import { type Dialect, mysqlDialect, mysqlDialectFor, sqliteDialect } from "./dialect.js";
import { KnexStore } from "./knex-store.js";
import { createMigrationSource, migrationNames } from "./migrations/migration-source.js";
import { boundQueries } from "./query-timeout.js";

export interface OpenStoreOptions {
  databaseUrl: string;
  /** Most pooled MySQL connections. */
  poolMax?: number;
  /** Run pending migrations before returning. Default true. */
  migrate?: boolean;
  /** Bound on one MySQL query, ms (0: none). Migrations run unbounded: a schema change may take long. */
  queryTimeoutMs?: number;
  /** Seals webhook signing secrets at rest (HERALD_SECRET_KEYS); default: stored as issued. */
  secrets?: SecretSealer;
  /** Where knex's own messages go (at debug level); they are dropped when absent. */
  logger?: Logger;
}

type Connection = { query: (sql: string, cb: (err: unknown) => void) => void };

/**
 * knex's own messages, which it would otherwise print with console.log as plain text (a stack
 * trace for every failed connection attempt: thousands of lines during a database outage). They
 * repeat what callers already see as errors, so they go to the JSON log at debug level, first line
 * only.
 */
function knexLog(logger: Logger | undefined): Knex.Config["log"] {
  const emit = (level: string) => (message: unknown) =>
    logger?.debug("knex", { level, message: String(message).split("\n")[0] });
  return { debug: emit("debug"), warn: emit("warn"), error: emit("error"), deprecate: emit("deprecate") };
}

/** Default bound on one MySQL query (HERALD_DB_QUERY_TIMEOUT_MS). */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

function mysqlKnex(
  url: string,
  poolMax: number,
  withDatabase: boolean,
  queryTimeoutMs = DEFAULT_QUERY_TIMEOUT_MS,
  logger?: Logger,
): Knex {
  const target = parseDatabaseUrl(url);
  if (target.kind !== "mysql") throw new Error("not a mysql url");
  return knexFactory({
    client: "mysql2",
    connection: {
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      ...(withDatabase ? { database: target.database } : {}),
      // Exact int64 ids: BIGINT arrives as a string, converted to bigint in the row mappers.
      supportBigNumbers: true,
      bigNumberStrings: true,
      timezone: "Z",
      charset: "utf8mb4",
      connectTimeout: 5_000,
    },
    pool: {
      min: 0,
      max: poolMax,
      // READ COMMITTED reduces gap locking on the queue's claim index (see docs/mysql-queue-design.md).
      afterCreate: (conn: Connection, done: (err: unknown, conn: Connection) => void) => {
        if (queryTimeoutMs > 0)
          boundQueries(conn as unknown as Parameters<typeof boundQueries>[0], queryTimeoutMs);
        conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", (err) => done(err, conn));
      },
    },
    // Bounded waits while the database is down: callers get UNAVAILABLE within seconds, never hang.
    acquireConnectionTimeout: 5_000,
    // knex otherwise inlines bound values (message data, secrets) into error messages, which get logged.
    compileSqlOnError: false,
    log: knexLog(logger),
  });
}

function sqliteKnex(filename: string, logger?: Logger): Knex {
  if (filename !== ":memory:") mkdirSync(dirname(filename), { recursive: true });
  return knexFactory({
    client: "better-sqlite3",
    connection: { filename, options: { safeIntegers: true } },
    useNullAsDefault: true,
    compileSqlOnError: false,
    log: knexLog(logger),
    pool: {
      min: 1,
      max: 1,
      afterCreate: (
        conn: { pragma: (s: string) => unknown },
        done: (err: unknown, conn: unknown) => void,
      ) => {
        try {
          // WAL lets readers run beside the writer; synchronous=FULL keeps every commit durable.
          conn.pragma("journal_mode = WAL");
          conn.pragma("synchronous = FULL");
          conn.pragma("foreign_keys = ON");
          conn.pragma("busy_timeout = 5000");
          done(null, conn);
        } catch (err) {
          done(err, conn);
        }
      },
    },
  });
}

/** Creates the MySQL database named in the URL when it does not exist yet. */
async function ensureMysqlDatabase(url: string, logger?: Logger): Promise<void> {
  const target = parseDatabaseUrl(url);
  if (target.kind !== "mysql") return;
  const admin = mysqlKnex(url, 1, false, DEFAULT_QUERY_TIMEOUT_MS, logger);
  try {
    await admin.raw("CREATE DATABASE IF NOT EXISTS ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", [
      target.database,
    ]);
  } finally {
    await admin.destroy();
  }
}

/**
 * Runs pending migrations on an open knex. Instances starting together race for knex's migration
 * lock (which fails instead of waiting) and for creating its bookkeeping tables: the losers wait
 * and try again, and find the migrations done by the winner.
 */
export async function migrateLatest(knex: Knex, dialect: Dialect): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const [, applied] = (await knex.migrate.latest({
        migrationSource: createMigrationSource(dialect),
      })) as [number, string[]];
      return applied;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const contended = /already locked|take lock|already exists/i.test(message);
      if (!contended || attempt >= 60) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 + Math.random() * 250));
    }
  }
}

/** Opens a Store on DATABASE_URL, migrating it unless told not to. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const target = parseDatabaseUrl(options.databaseUrl);
  let knex: Knex;
  let dialect: Dialect;
  if (target.kind === "mysql") {
    knex = mysqlKnex(
      options.databaseUrl,
      options.poolMax ?? 10,
      true,
      options.queryTimeoutMs,
      options.logger,
    );
    dialect = mysqlDialect; // until the server says which it is (below)
  } else {
    knex = sqliteKnex(target.filename, options.logger);
    dialect = sqliteDialect;
  }
  try {
    if (dialect.name === "mysql") {
      // The usual restart finds the database and its schema current: one connection and two
      // queries. Creating the database and migrating (each on a connection of its own) only when needed.
      let version: string;
      try {
        version = await serverVersion(knex);
      } catch (error) {
        if ((error as { code?: unknown }).code !== "ER_BAD_DB_ERROR") throw error;
        await ensureMysqlDatabase(options.databaseUrl, options.logger);
        version = await serverVersion(knex);
      }
      dialect = mysqlDialectFor(version);
      if (options.migrate !== false && (await hasPendingMigrations(knex))) {
        const migrator = mysqlKnex(options.databaseUrl, 1, true, 0, options.logger);
        try {
          await migrateLatest(migrator, dialect);
        } finally {
          await migrator.destroy();
        }
      }
    } else if (options.migrate !== false) {
      await migrateLatest(knex, dialect);
    }
  } catch (err) {
    await knex.destroy();
    throw err;
  }
  return new KnexStore(knex, dialect, options.secrets);
}

/** Whether a migration Herald ships is not recorded as applied (or knex's table does not exist yet). */
async function hasPendingMigrations(knex: Knex): Promise<boolean> {
  let applied: string[];
  try {
    applied = (await knex("knex_migrations").pluck("name")) as string[];
  } catch {
    return true;
  }
  return migrationNames().some((name) => !applied.includes(name));
}

/** The server's VERSION(), which tells MariaDB (and its features) from MySQL. */
async function serverVersion(knex: Knex): Promise<string> {
  const [rows] = (await knex.raw("SELECT VERSION() AS version")) as [{ version: unknown }[]];
  return String(rows[0]?.version ?? "");
}
