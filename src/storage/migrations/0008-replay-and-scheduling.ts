/**
 * Replay and scheduling (issue 16). `messages.deliver_at_ms`: the scheduled delivery time of a
 * message published with deliver_at, NULL for immediate delivery (every row written before this
 * migration). The fan-out sets each queue row's available_at_ms and TTL base from it, so a
 * scheduled message needs no timer and survives restarts. `subscriptions.retain_acked_messages`:
 * acked queue rows are kept for the subscription's message TTL, so Seek can bring them back.
 * `topics.message_retention_ms`: messages are kept that long even when every subscription acked
 * them (0 = not retained), so a Seek, even of a new subscription, can replay them. Frozen once
 * released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { dropColumn } from "./drop-column.js";

export function up(_dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("messages", (t) => {
      t.bigInteger("deliver_at_ms").nullable();
    });
    await knex.schema.alterTable("subscriptions", (t) => {
      t.boolean("retain_acked_messages").notNullable().defaultTo(false);
    });
    await knex.schema.alterTable("topics", (t) => {
      t.bigInteger("message_retention_ms").notNullable().defaultTo(0);
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await dropColumn(knex, "topics", "message_retention_ms");
  await dropColumn(knex, "subscriptions", "retain_acked_messages");
  await dropColumn(knex, "messages", "deliver_at_ms");
}
