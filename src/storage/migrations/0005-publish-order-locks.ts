/**
 * Lock rows that keep one ordering key's messages in commit order across instances (MySQL): a
 * publish transaction locks the slot of each of its ordering keys (FOR UPDATE, in slot order)
 * before it inserts, so a second instance publishing the same key waits for the first to commit
 * and takes a larger id. A fixed set of slots (hash of the key mod PUBLISH_ORDER_LOCK_SLOTS) keeps
 * the table bounded; two keys sharing a slot only wait for each other. SQLite needs no lock (one
 * writer per file) but gets the same table. Frozen once released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { insertRows } from "../multi-row-insert.js";

/** Number of lock slots; fixed by this migration (the slot of a key must never change). */
export const PUBLISH_ORDER_LOCK_SLOTS = 4096;

export function up(_dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.createTable("publish_order_locks", (t) => {
      t.integer("slot").notNullable().primary();
    });
    for (let first = 0; first < PUBLISH_ORDER_LOCK_SLOTS; first += 1024) {
      const rows = Array.from({ length: 1024 }, (_, i) => [first + i]);
      await insertRows(knex, "publish_order_locks", ["slot"], rows);
    }
  };
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("publish_order_locks");
}
