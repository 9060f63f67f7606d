/**
 * Every difference between SQLite and MySQL/MariaDB that Herald's SQL depends on, in one place
 * (pg-boss's habit). Repositories ask the dialect instead of branching on the client name.
 */
import type { Knex } from "knex";
import { isMatchAll, toSqlLikePattern } from "../domain/identifier-filter.js";

export interface Dialect {
  readonly name: "sqlite" | "mysql";
  /**
   * The stored pattern for an identifier filter, matched by `identifierMatchSql`. MySQL uses LIKE
   * on utf8mb4_bin columns (case-sensitive); SQLite's LIKE ignores ASCII case, so it uses GLOB,
   * whose metacharacters `*?[` are escaped as one-character classes.
   */
  identifierPattern(filter: string): string;
  /** SQL fragment (with the identifier column and pattern column) that is true on a match. */
  identifierMatchSql(identifierColumn: string, patternColumn: string): string;
  /**
   * Whether the server answers `INSERT … RETURNING` (MariaDB ≥ 10.5, SQLite ≥ 3.35; not MySQL):
   * how a multi-row insert learns its ids (see insertRowsReturningIds), which are never assumed
   * contiguous.
   */
  readonly hasInsertReturning: boolean;
  /** Column type for message payloads up to the 10 MiB request limit. */
  readonly blobType: string;
  /**
   * Column type for a key compared byte for byte, trailing spaces included. MariaDB's utf8mb4_bin
   * is a PAD SPACE collation ("x" = "x "), so MySQL stores such keys as VARBINARY (read back as
   * Buffer); SQLite text already compares exactly.
   */
  exactKeyType(maxBytes: number): string;
  /** A unique-key violation (ER_DUP_ENTRY / SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY). */
  isDuplicateKey(error: unknown): boolean;
  /** Errors after which the whole transaction can be retried: deadlock, lock wait timeout, busy. */
  isRetryable(error: unknown): boolean;
  /** The database cannot be reached or used right now (connection refused or lost, server shutting down, disk I/O). */
  isConnectionError(error: unknown): boolean;
  /**
   * Whether a publish must lock its ordering keys' slots (publish_order_locks) before inserting, so
   * that ids of one key follow commit order across connections. SQLite has one writer: ids are
   * assigned in commit order already.
   */
  readonly locksPublishOrder: boolean;
  /** Adds `FOR UPDATE SKIP LOCKED` where the database has it; SQLite has one writer and needs none. */
  lockForClaim(query: Knex.QueryBuilder): Knex.QueryBuilder;
  /** Most bytes of bound values to put in one statement (MySQL's max_allowed_packet is 16 MiB by default). */
  readonly maxStatementBytes: number;
  /** Most bound parameters in one statement (SQLite's SQLITE_MAX_VARIABLE_NUMBER; see bound-parameters.ts). */
  readonly maxBoundParameters: number;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
}

/** Driver and server codes that mean "no usable connection", not "bad statement". */
const MYSQL_CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_SERVER_SHUTDOWN",
  "ER_CON_COUNT_ERROR",
  "ER_ACCESS_DENIED_ERROR",
  "ER_BAD_DB_ERROR",
  // 1047 from a Galera node outside the primary component (wsrep_ready=OFF); DatabaseHosts moves on.
  "ER_UNKNOWN_COM_ERROR",
  "ER_CONNECTION_KILLED",
]);

function globEscape(literal: string): string {
  return literal.replace(/[*?[]/g, (c) => `[${c}]`);
}

export const sqliteDialect: Dialect = {
  name: "sqlite",
  identifierPattern(filter) {
    if (isMatchAll(filter)) return "*";
    return filter.split("*").map(globEscape).join("*");
  },
  identifierMatchSql: (identifierColumn, patternColumn) => `${identifierColumn} GLOB ${patternColumn}`,
  hasInsertReturning: true,
  blobType: "blob",
  exactKeyType: (maxBytes) => `varchar(${maxBytes})`,
  isDuplicateKey: (e) => {
    const code = errorCode(e);
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
  },
  isRetryable: (e) => errorCode(e) === "SQLITE_BUSY",
  isConnectionError: (e) => /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/.test(errorCode(e) ?? ""),
  lockForClaim: (query) => query,
  locksPublishOrder: false,
  maxStatementBytes: 64 * 1024 * 1024,
  // better-sqlite3 12 bundles SQLite 3.5x, compiled with the default 32,766.
  maxBoundParameters: 32_766,
};

export const mysqlDialect: Dialect = {
  name: "mysql",
  identifierPattern(filter) {
    return isMatchAll(filter) ? "%" : toSqlLikePattern(filter);
  },
  identifierMatchSql: (identifierColumn, patternColumn) =>
    `${identifierColumn} LIKE ${patternColumn} ESCAPE '\\\\'`,
  // MariaDB's; openStore switches it off on MySQL (mysqlDialectFor).
  hasInsertReturning: true,
  blobType: "longblob",
  exactKeyType: (maxBytes) => `varbinary(${maxBytes})`,
  isDuplicateKey: (e) => errorCode(e) === "ER_DUP_ENTRY",
  isConnectionError: (e) =>
    MYSQL_CONNECTION_CODES.has(errorCode(e) ?? "") ||
    (typeof e === "object" && e !== null && "fatal" in e && e.fatal === true),
  isRetryable: (e) => {
    const code = errorCode(e);
    return code === "ER_LOCK_DEADLOCK" || code === "ER_LOCK_WAIT_TIMEOUT";
  },
  lockForClaim: (query) => query.forUpdate().skipLocked(),
  // Auto-increment ids are taken at INSERT, visible at COMMIT: without a lock, a second connection
  // could take id 11 for key K and commit before id 10 of K exists, and a consumer would get 11 first.
  locksPublishOrder: true,
  // Bound buffers travel hex-encoded in the statement text: keep well under 16 MiB.
  maxStatementBytes: 4 * 1024 * 1024,
  // The protocol's limit for prepared statements (raw queries are interpolated client-side).
  maxBoundParameters: 65_535,
};

/**
 * The MySQL dialect for a server's `VERSION()`: MariaDB has `INSERT … RETURNING` from 10.5 on,
 * Oracle MySQL not at all.
 */
export function mysqlDialectFor(version: string): Dialect {
  const mariadb = /^(\d+)\.(\d+)\..*mariadb/i.exec(version);
  const hasInsertReturning = mariadb !== null && Number(mariadb[1]) * 100 + Number(mariadb[2]) >= 1005;
  return hasInsertReturning ? mysqlDialect : { ...mysqlDialect, hasInsertReturning: false };
}
