import type { Knex } from "knex";

/**
 * Drops a column in place. knex's SQLite `dropColumn` rebuilds the table (copy, DROP TABLE,
 * rename), and the DROP fails with "FOREIGN KEY constraint failed" once other tables' rows
 * reference it (messages, publishers); SQLite ≥ 3.35 and MySQL both drop an unindexed column in
 * place. For migrations' `down` only.
 */
export async function dropColumn(knex: Knex, table: string, column: string): Promise<void> {
  await knex.raw("ALTER TABLE ?? DROP COLUMN ??", [table, column]);
}
