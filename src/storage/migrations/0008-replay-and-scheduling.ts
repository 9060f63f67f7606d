/**
 * Replay and scheduling (issue 16). `messages.deliver_at_ms`: the scheduled delivery time of a
 * message published with deliver_at, NULL for immediate delivery (every row written before this
 * migration). The fan-out sets each queue row's available_at_ms and TTL base from it, so a
 * scheduled message needs no timer and survives restarts. Frozen once released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { dropColumn } from "./drop-column.js";

export function up(_dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("messages", (t) => {
      t.bigInteger("deliver_at_ms").nullable();
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await dropColumn(knex, "messages", "deliver_at_ms");
}
