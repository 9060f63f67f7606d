/**
 * Webhook-grade push (issue 15): per-subscription retry schedules (rows before this migration get
 * NULL, no schedule: they keep exponential backoff with their stored bounds and attempts) and
 * static push headers (names in the clear for display, the whole set sealed like signing secrets).
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
      // Comma-separated lower-case header names (at most 20 of 128 characters).
      t.string("push_header_names", 2600).nullable();
      // JSON object of the headers, sealed with HERALD_SECRET_KEYS when configured.
      t.text("push_headers_sealed").nullable();
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  for (const column of ["push_headers_sealed", "push_header_names", "retry_schedule_ms"]) {
    await dropColumn(knex, "subscriptions", column);
  }
}
