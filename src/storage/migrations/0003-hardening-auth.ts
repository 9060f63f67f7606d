/**
 * Hardening of authorization and secrets (issue 20): per-publisher topic grants (M1) and the
 * instance-shared key that authenticates ack ids (L1). Frozen once released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { dropColumn } from "./drop-column.js";

export function up(dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("publishers", (t) => {
      // "Every topic, present and future" (allowed_topics = ["*"]). New publishers get no grant.
      t.boolean("publishes_to_all_topics").notNullable().defaultTo(false);
    });
    // Before this migration any publisher key could publish to any topic: keep what they can do.
    await knex("publishers").update({ publishes_to_all_topics: true });

    await knex.schema.createTable("publisher_topics", (t) => {
      if (dialect.name === "mysql") {
        t.charset("utf8mb4");
        t.collate("utf8mb4_bin");
      }
      t.bigInteger("publisher_id").unsigned().notNullable().references("id").inTable("publishers");
      t.bigInteger("topic_id").unsigned().notNullable().references("id").inTable("topics");
      t.primary(["publisher_id", "topic_id"]);
      t.index(["topic_id"], "publisher_topics_topic_idx");
    });

    // Random keys every instance on this database shares (e.g. the ack-id MAC key), created on
    // first start. Not a place for keys protecting the database's own contents.
    await knex.schema.createTable("instance_keys", (t) => {
      if (dialect.name === "mysql") {
        t.charset("utf8mb4");
        t.collate("utf8mb4_bin");
      }
      t.string("name", 64).primary();
      t.string("key_base64", 255).notNullable();
      t.bigInteger("created_at_ms").notNullable();
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("instance_keys");
  await knex.schema.dropTableIfExists("publisher_topics");
  await dropColumn(knex, "publishers", "publishes_to_all_topics");
}
