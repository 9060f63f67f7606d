/**
 * Webhook-grade push (issue 15): per-subscription retry schedules. Rows before this migration get
 * NULL (no schedule): they keep exponential backoff with their stored bounds and attempts.
 * Frozen once released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { dropColumn } from "./drop-column.js";

export function up(_dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("subscriptions", (t) => {
      // Comma-separated delays in ms, at most 99 of at most 24 h each (< 1 KiB).
      t.string("retry_schedule_ms", 1024).nullable();
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await dropColumn(knex, "subscriptions", "retry_schedule_ms");
}
