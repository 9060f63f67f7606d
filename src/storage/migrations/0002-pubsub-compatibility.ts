/**
 * What the google.pubsub.v1 compatibility API (and Herald's own subscriptions) need beyond 0001:
 * attribute filters, dead-letter topics with an outbox for forwarding, push payload shapes, and
 * reusable subscription names. Frozen once released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";

export function up(dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("subscriptions", (t) => {
      // Pub/Sub attribute filter source ("" = none); parsed at create time, evaluated at publish.
      t.string("attribute_filter", 1024).notNullable().defaultTo("");
      // Dead letters are also published to this topic (Pub/Sub dead_letter_policy.dead_letter_topic).
      t.bigInteger("dead_letter_topic_id").unsigned().nullable();
      // Push body: "wrapped" (Pub/Sub envelope JSON), "unwrapped" (raw data), or
      // "unwrapped_metadata" (raw data, attributes and message metadata as headers).
      t.string("push_payload", 24).notNullable().defaultTo("wrapped");
      // A deleted subscription keeps its row (and name) for audit; live_name is the name while live
      // and NULL once deleted, so the unique index lets a deleted name be used again.
      t.string("live_name", 255).nullable();
      // The project a google.pubsub.v1 client named on create (for dead-letter attributes).
      t.string("pubsub_project", 255).notNullable().defaultTo("");
    });
    await knex("subscriptions")
      .whereNull("deleted_at_ms")
      .update({ live_name: knex.ref("name") });
    await knex.schema.alterTable("subscriptions", (t) => {
      t.dropUnique(["name"], "subscriptions_name_unique");
      t.index(["name"], "subscriptions_name_idx");
      t.unique(["live_name"], { indexName: "subscriptions_live_name_unique" });
    });

    // Outbox of dead letters still to be published to their subscription's dead-letter topic:
    // written in the transaction that dead-letters the item, deleted once the forward committed.
    await knex.schema.createTable("dead_letter_forwards", (t) => {
      if (dialect.name === "mysql") {
        t.charset("utf8mb4");
        t.collate("utf8mb4_bin");
      }
      t.bigInteger("dead_letter_id").unsigned().notNullable().primary();
      t.bigInteger("topic_id").unsigned().notNullable();
      t.bigInteger("created_at_ms").notNullable();
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("dead_letter_forwards");
  await knex.schema.alterTable("subscriptions", (t) => {
    t.dropUnique(["live_name"], "subscriptions_live_name_unique");
    t.dropIndex(["name"], "subscriptions_name_idx");
    t.unique(["name"], { indexName: "subscriptions_name_unique" });
  });
  await knex.schema.alterTable("subscriptions", (t) => {
    t.dropColumn("attribute_filter");
    t.dropColumn("dead_letter_topic_id");
    t.dropColumn("push_payload");
    t.dropColumn("live_name");
    t.dropColumn("pubsub_project");
  });
}
