/**
 * The databases every storage and end-to-end suite runs against: SQLite always, MySQL when
 * TEST_MYSQL_URL is set. Under CI=true a missing TEST_MYSQL_URL fails the run instead of skipping.
 * Each `create()` makes a fresh, empty database and `drop()` removes it.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import knexFactory from "knex";

export interface TestDatabase {
  kind: "sqlite" | "mysql";
  /** A DATABASE_URL for the fresh database. */
  url: string;
  drop(): Promise<void>;
}

export interface TestDatabaseTarget {
  kind: "sqlite" | "mysql";
  create(): Promise<TestDatabase>;
}

const mysqlUrl = process.env.TEST_MYSQL_URL;

if (!mysqlUrl && process.env.CI === "true") {
  throw new Error("TEST_MYSQL_URL is required when CI=true: the MySQL suites must run, not skip");
}

let warned = false;

function sqliteTarget(): TestDatabaseTarget {
  return {
    kind: "sqlite",
    async create() {
      const dir = mkdtempSync(join(tmpdir(), "herald-test-"));
      return {
        kind: "sqlite",
        url: `sqlite:${join(dir, "herald.db")}`,
        drop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  };
}

function mysqlTarget(baseUrl: string): TestDatabaseTarget {
  return {
    kind: "mysql",
    async create() {
      const name = `herald_test_${randomBytes(6).toString("hex")}`;
      const url = new URL(baseUrl);
      url.pathname = `/${name}`;
      return {
        kind: "mysql",
        url: url.toString(),
        async drop() {
          const admin = knexFactory({ client: "mysql2", connection: serverConnection(baseUrl) });
          try {
            await admin.raw("DROP DATABASE IF EXISTS ??", [name]);
          } finally {
            await admin.destroy();
          }
        },
      };
    },
  };
}

function serverConnection(baseUrl: string) {
  const url = new URL(baseUrl);
  return {
    host: url.hostname,
    port: url.port === "" ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

/** SQLite, plus MySQL when configured; prints once why MySQL is skipped. */
export function testDatabaseTargets(): TestDatabaseTarget[] {
  if (mysqlUrl) return [sqliteTarget(), mysqlTarget(mysqlUrl)];
  if (!warned) {
    warned = true;
    console.warn("MySQL suites skipped: set TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/herald to run them");
  }
  return [sqliteTarget()];
}
