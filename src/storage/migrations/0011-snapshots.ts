/**
 * Snapshots (issue 16, Pub/Sub semantics). A snapshot is one `snapshots` row plus one
 * `snapshot_items` row per message that was unacked in its source subscription when it was
 * taken; messages of the topic published later are named by a high-water mark
 * (`after_message_id`: every message with a larger id belongs to the snapshot) instead of rows.
 *
 * Why rows for the backlog and not a mark: the unacked set of a subscription is not an id range
 * (acks happen in any order, retries and ordering keys leave holes), so no constant-size mark can
 * describe it. Rows filled by INSERT … SELECT in batches of queue ids keep creation bounded in
 * memory and lock time whatever the backlog; the later-published part is a range and costs
 * nothing. `is_ready` hides a snapshot until its last batch is in, so a half-built one is never
 * seen and is pruned at its expiry if creation failed. Frozen once released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";

export function up(dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.createTable("snapshots", (t) => {
      // Byte-exact names on MySQL, as on SQLite.
      if (dialect.name === "mysql") {
        t.charset("utf8mb4");
        t.collate("utf8mb4_bin");
      }
      t.bigIncrements("id").primary();
      t.string("name", 255).notNullable().unique("snapshots_name_unique");
      // No foreign key: like Pub/Sub's, a snapshot outlives its topic's deletion until it expires.
      t.bigInteger("topic_id").unsigned().notNullable();
      t.string("source_subscription", 255).notNullable();
      t.bigInteger("after_message_id").notNullable();
      t.text("labels").notNullable();
      t.string("pubsub_project", 128).notNullable();
      t.boolean("is_ready").notNullable();
      t.bigInteger("expire_at_ms").notNullable();
      t.bigInteger("created_at_ms").notNullable();
      t.bigInteger("updated_at_ms").notNullable();
      t.index(["topic_id", "expire_at_ms"], "snapshots_topic_idx");
      t.index(["expire_at_ms"], "snapshots_expire_idx");
    });
    await knex.schema.createTable("snapshot_items", (t) => {
      t.bigInteger("snapshot_id").unsigned().notNullable();
      t.bigInteger("message_id").unsigned().notNullable();
      t.primary(["snapshot_id", "message_id"]);
      // The retention pruner asks "does a live snapshot hold this message?".
      t.index(["message_id"], "snapshot_items_message_idx");
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("snapshot_items");
  await knex.schema.dropTableIfExists("snapshots");
}
