/**
 * A counter on each publish_order_locks slot, so that a publish takes its ordering keys' slots by
 * writing them (`UPDATE … SET publish_count = publish_count + 1`) instead of only locking them
 * (`SELECT … FOR UPDATE`). On one server both wait the same way. On a Galera cluster row locks are
 * local to a node and never replicated: only a write puts the slot into the transaction's write
 * set, so that two publishes of one key committed through different nodes conflict at
 * certification and the later one is retried (taking an id above the winner's), keeping ids in
 * commit order per key across writers. Frozen once released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { dropColumn } from "./drop-column.js";

export function up(_dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("publish_order_locks", (t) => {
      t.bigInteger("publish_count").notNullable().defaultTo(0);
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await dropColumn(knex, "publish_order_locks", "publish_count");
}
