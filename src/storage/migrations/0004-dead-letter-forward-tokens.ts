/**
 * Unguessable dedup ids for dead-letter forwards: each outbox row carries a random token, and the
 * forward is published with the dedup id `herald-dead-letter-<token>` (it was the dead letter's id,
 * which anyone publishing as the forwarding publisher could claim in advance and so suppress the
 * forward). Rows waiting at upgrade get tokens here. Frozen once released.
 */
import { randomBytes } from "node:crypto";
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { dropColumn } from "./drop-column.js";

export function up(_dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("dead_letter_forwards", (t) => {
      t.string("dedup_token", 64).notNullable().defaultTo("");
    });
    // The outbox holds only forwards not yet published: a handful, rarely more.
    for (;;) {
      const rows = (await knex("dead_letter_forwards")
        .where("dedup_token", "")
        .select("dead_letter_id")
        .limit(500)) as { dead_letter_id: unknown }[];
      if (rows.length === 0) break;
      for (const row of rows) {
        await knex("dead_letter_forwards")
          .where("dead_letter_id", String(row.dead_letter_id))
          .update({ dedup_token: randomBytes(16).toString("hex") });
      }
    }
  };
}

export async function down(knex: Knex): Promise<void> {
  await dropColumn(knex, "dead_letter_forwards", "dedup_token");
}
