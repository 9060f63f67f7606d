/**
 * Every migration on every test database: up one at a time, down one at a time, then up again.
 * Each down must restore exactly the schema its up started from (tables, columns with their types,
 * nullability and defaults, indexes, foreign keys), the last down must leave nothing of Herald's,
 * and the second up must build the same schema as the first: released migrations stay reversible.
 */
import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KnexStore } from "../../src/storage/knex-store.js";
import { createMigrationSource, migrationNames } from "../../src/storage/migrations/migration-source.js";
import { openStore } from "../../src/storage/open-store.js";
import { listTables } from "../support/database-snapshot.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";

/** knex's own bookkeeping, present from the first migration on and never dropped by a down. */
const KNEX_TABLES = new Set(["knex_migrations", "knex_migrations_lock"]);

type Schema = Record<string, { columns: string[]; indexes: string[]; foreignKeys: string[] }>;

async function describeSchema(knex: Knex): Promise<Schema> {
  const tables = (await listTables(knex)).filter((t) => !KNEX_TABLES.has(t));
  const schema: Schema = {};
  for (const table of tables) {
    schema[table] =
      knex.client.config.client === "mysql2" ? await mysqlTable(knex, table) : await sqliteTable(knex, table);
  }
  return schema;
}

async function sqliteTable(knex: Knex, table: string): Promise<Schema[string]> {
  const columns = (await knex.raw(`PRAGMA table_info(??)`, [table])) as Record<string, unknown>[];
  const indexList = (await knex.raw(`PRAGMA index_list(??)`, [table])) as { name: string; unique: number }[];
  const indexes: string[] = [];
  for (const index of indexList) {
    // Automatic indexes (sqlite_autoindex_…) carry generated names; describe them by their columns only.
    const parts = (await knex.raw(`PRAGMA index_info(??)`, [index.name])) as { name: string }[];
    const name = index.name.startsWith("sqlite_autoindex_") ? "(auto)" : index.name;
    indexes.push(`${name} unique=${index.unique} (${parts.map((p) => p.name).join(",")})`);
  }
  const foreignKeys = (await knex.raw(`PRAGMA foreign_key_list(??)`, [table])) as Record<string, unknown>[];
  return {
    columns: columns
      .map(
        (c) =>
          `${c.name} ${String(c.type).toLowerCase()} notnull=${c.notnull} default=${c.dflt_value} pk=${c.pk}`,
      )
      .sort(),
    indexes: indexes.sort(),
    foreignKeys: foreignKeys
      .map((f) => `${f.from} -> ${f.table}.${f.to} on delete ${f.on_delete} on update ${f.on_update}`)
      .sort(),
  };
}

async function mysqlTable(knex: Knex, table: string): Promise<Schema[string]> {
  const [columns] = (await knex.raw(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS dflt,
            EXTRA AS extra, COLLATION_NAME AS collation
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  )) as [Record<string, unknown>[]];
  const [indexes] = (await knex.raw(
    `SELECT INDEX_NAME AS name, NON_UNIQUE AS nonUnique,
            GROUP_CONCAT(CONCAT(COLUMN_NAME, COALESCE(CONCAT('(', SUB_PART, ')'), '')) ORDER BY SEQ_IN_INDEX) AS cols
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
     GROUP BY INDEX_NAME, NON_UNIQUE`,
    [table],
  )) as [Record<string, unknown>[]];
  const [foreignKeys] = (await knex.raw(
    `SELECT k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS col, k.REFERENCED_TABLE_NAME AS refTable,
            k.REFERENCED_COLUMN_NAME AS refCol, r.DELETE_RULE AS onDelete, r.UPDATE_RULE AS onUpdate
     FROM information_schema.KEY_COLUMN_USAGE k
     JOIN information_schema.REFERENTIAL_CONSTRAINTS r
       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
     WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL`,
    [table],
  )) as [Record<string, unknown>[]];
  return {
    columns: columns
      .map((c) => `${c.name} ${c.type} nullable=${c.nullable} default=${c.dflt} ${c.extra} ${c.collation}`)
      .sort(),
    indexes: indexes.map((i) => `${i.name} unique=${Number(i.nonUnique) === 0} (${i.cols})`).sort(),
    foreignKeys: foreignKeys
      .map(
        (f) =>
          `${f.name}: ${f.col} -> ${f.refTable}.${f.refCol} on delete ${f.onDelete} on update ${f.onUpdate}`,
      )
      .sort(),
  };
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "migrations up, down and up again on %s",
  (_k, target) => {
    let db: TestDatabase | undefined;
    let store: KnexStore | undefined;
    beforeAll(async () => {
      db = await target.create();
      const opened = await openStore({ databaseUrl: db.url, migrate: false });
      if (!(opened instanceof KnexStore)) throw new Error("openStore is expected to return a KnexStore");
      store = opened;
    });
    afterAll(async () => {
      try {
        await store?.close();
      } finally {
        await db?.drop();
      }
    });

    it("restores each earlier schema on the way down and rebuilds the same schema on the way up", async () => {
      if (!store) throw new Error("no store");
      const { knex } = store;
      const config = { migrationSource: createMigrationSource(store.dialect) };
      const names = migrationNames();
      expect(names.length).toBeGreaterThanOrEqual(6);

      // schemas[i]: the schema after the first i migrations.
      const schemas: Schema[] = [await describeSchema(knex)];
      expect(schemas[0]).toEqual({});
      for (const name of names) {
        const [, applied] = (await knex.migrate.up(config)) as [number, string[]];
        expect(applied).toEqual([name]);
        schemas.push(await describeSchema(knex));
      }
      // Every migration changes the schema (a no-op up would make its down untestable here).
      for (let i = 1; i < schemas.length; i++) expect(schemas[i], names[i - 1]).not.toEqual(schemas[i - 1]);

      for (let i = names.length; i > 0; i--) {
        const [, reverted] = (await knex.migrate.down(config)) as [number, string[]];
        expect(reverted).toEqual([names[i - 1]]);
        expect(await describeSchema(knex), `schema after reverting ${names[i - 1]}`).toEqual(schemas[i - 1]);
      }
      expect(await describeSchema(knex)).toEqual({});

      const [, reapplied] = (await knex.migrate.latest(config)) as [number, string[]];
      expect(reapplied).toEqual(names);
      expect(await describeSchema(knex)).toEqual(schemas[names.length]);
      // The rebuilt schema serves the repositories.
      const publisher = await store.repos.publishers.insert({ code: "p", name: "P", description: "" }, 1);
      expect((await store.repos.publishers.findByCode("p"))?.id).toBe(publisher.id);
    });
  },
);
