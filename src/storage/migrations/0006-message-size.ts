/**
 * Each message's size (payload plus attributes, see domain/message.ts messageSizeBytes), so a
 * claim can bound what it loads by bytes without reading payloads: on MySQL, LENGTH() of a LONGBLOB
 * reads every page of it. Rows written before this migration keep NULL and are measured with
 * LENGTH() when claimed. Frozen once released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { dropColumn } from "./drop-column.js";

export function up(_dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("messages", (t) => {
      t.bigInteger("size_bytes").nullable();
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await dropColumn(knex, "messages", "size_bytes");
}
