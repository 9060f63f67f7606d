/** Opens the database named by DATABASE_URL: knex, dialect, pragmas/session settings, migrations. */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import knexFactory, { type Knex } from "knex";
import type { SecretSealer } from "../app/auth/secret-box.js";
import type { Store } from "../app/ports/store.js";
import { parseDatabaseUrl } from "../config/database-url.js";
import type { Logger } from "../logger.js";
import { DatabaseHosts, isHostFailure } from "./database-hosts.js";
import { type Dialect, mysqlDialect, mysqlDialectFor, sqliteDialect } from "./dialect.js";
import { KnexStore } from "./knex-store.js";
import { createMigrationSource, migrationNames } from "./migrations/migration-source.js";
import { prepareMysqlSession, type SessionConnection } from "./mysql-session.js";
import { cachePreparedStatements, type PreparingConnection } from "./sqlite-statement-cache.js";

export interface OpenStoreOptions {
  databaseUrl: string;
  /** Most pooled MySQL connections. */
  poolMax?: number;
  /** Run pending migrations before returning. Default true. */
  migrate?: boolean;
  /** Bound on one MySQL query, ms (0: none). Migrations run unbounded: a schema change may take long. */
  queryTimeoutMs?: number;
  /**
   * Session wsrep_sync_wait on Galera nodes (HERALD_DB_WSREP_SYNC_WAIT); default 3 (reads and
   * UPDATE/DELETE wait for the node to catch up with the cluster). Ignored without Galera.
   */
  wsrepSyncWait?: number;
  /** Seals webhook signing secrets at rest (HERALD_SECRET_KEYS); default: stored as issued. */
  secrets?: SecretSealer;
  /** Where knex's own messages go (at debug level); they are dropped when absent. */
  logger?: Logger;
}

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

/** Default session wsrep_sync_wait on Galera nodes (HERALD_DB_WSREP_SYNC_WAIT): reads and UPDATE/DELETE. */
export const DEFAULT_WSREP_SYNC_WAIT = 3;

interface MysqlKnexOptions {
  url: string;
  poolMax: number;
  /** Connect to the URL's database (false: to the server, to create it). */
  withDatabase: boolean;
  queryTimeoutMs: number;
  wsrepSyncWait: number;
  /** The URL's hosts and which is in use; shared by every knex of one store. */
  hosts: DatabaseHosts;
  logger?: Logger;
}

function mysqlKnex(options: MysqlKnexOptions): Knex {
  const target = parseDatabaseUrl(options.url);
  if (target.kind !== "mysql") throw new Error("not a mysql url");
  const connectTimeoutMs = 5_000;
  return knexFactory({
    client: "mysql2",
    connection: {
      // The socket goes to the host in use (DatabaseHosts), not to a fixed host and port.
      stream: options.hosts.socketFactory(connectTimeoutMs),
      user: target.user,
      password: target.password,
      ...(options.withDatabase ? { database: target.database } : {}),
      // Exact int64 ids: BIGINT arrives as a string, converted to bigint in the row mappers.
      supportBigNumbers: true,
      bigNumberStrings: true,
      timezone: "Z",
      charset: "utf8mb4",
      connectTimeout: connectTimeoutMs,
    },
    pool: {
      min: 0,
      max: options.poolMax,
      afterCreate: (conn: SessionConnection, done: (err: unknown, conn: SessionConnection) => void) => {
        prepareMysqlSession(conn, options).then(
          () => done(null, conn),
          (err: unknown) => done(err, conn),
        );
      },
    },
    // Bounded waits while the database is down: callers get UNAVAILABLE within seconds, never hang.
    acquireConnectionTimeout: 5_000,
    // knex otherwise inlines bound values (message data, secrets) into error messages, which get logged.
    compileSqlOnError: false,
    log: knexLog(options.logger),
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
        conn: PreparingConnection & { pragma: (s: string) => unknown },
        done: (err: unknown, conn: unknown) => void,
      ) => {
        try {
          cachePreparedStatements(conn);
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
async function ensureMysqlDatabase(base: MysqlKnexOptions): Promise<void> {
  const target = parseDatabaseUrl(base.url);
  if (target.kind !== "mysql") return;
  const admin = mysqlKnex({ ...base, poolMax: 1, withDatabase: false });
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
  let hosts: DatabaseHosts | undefined;
  let mysqlOptions: MysqlKnexOptions | undefined;
  if (target.kind === "mysql") {
    hosts = new DatabaseHosts(target.hosts, options.logger);
    mysqlOptions = {
      url: options.databaseUrl,
      poolMax: options.poolMax ?? 10,
      withDatabase: true,
      queryTimeoutMs: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
      wsrepSyncWait: options.wsrepSyncWait ?? DEFAULT_WSREP_SYNC_WAIT,
      hosts,
      ...(options.logger ? { logger: options.logger } : {}),
    };
    knex = mysqlKnex(mysqlOptions);
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
        version = await serverVersion(knex, hosts as DatabaseHosts);
      } catch (error) {
        if ((error as { code?: unknown }).code !== "ER_BAD_DB_ERROR") throw error;
        await ensureMysqlDatabase(mysqlOptions as MysqlKnexOptions);
        version = await serverVersion(knex, hosts as DatabaseHosts);
      }
      dialect = mysqlDialectFor(version);
      if (options.migrate !== false && (await hasPendingMigrations(knex))) {
        const migrator = mysqlKnex({ ...(mysqlOptions as MysqlKnexOptions), poolMax: 1, queryTimeoutMs: 0 });
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
  return new KnexStore(knex, dialect, options.secrets, hosts);
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

/**
 * The server's VERSION(), which tells MariaDB (and its features) from MySQL. The first query of a
 * start: a host that fails it hands over to the next, so each host gets one try.
 */
async function serverVersion(knex: Knex, hosts: DatabaseHosts): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const [rows] = (await knex.raw("SELECT VERSION() AS version")) as [{ version: unknown }[]];
      return String(rows[0]?.version ?? "");
    } catch (error) {
      if (attempt >= hosts.hosts.length || !isHostFailure(error)) throw error;
    }
  }
}
