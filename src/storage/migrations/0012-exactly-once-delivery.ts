/**
 * Exactly-once delivery (issue 16): `subscriptions.enable_exactly_once_delivery`, Pub/Sub's
 * subscription setting. Existing subscriptions keep at-least-once (false). Frozen once released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { dropColumn } from "./drop-column.js";

export function up(_dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("subscriptions", (t) => {
      t.boolean("enable_exactly_once_delivery").notNullable().defaultTo(false);
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await dropColumn(knex, "subscriptions", "enable_exactly_once_delivery");
}
