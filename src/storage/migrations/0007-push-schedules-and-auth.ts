/**
 * Webhook-grade push (issue 15): per-subscription retry schedules (rows before this migration get
 * NULL, no schedule: they keep exponential backoff with their stored bounds and attempts) and
 * static push headers (names in the clear for display, the whole set sealed like signing secrets),
 * OIDC push tokens (the subscription's service account and audience; the RS256 keys Herald signs
 * them with, private keys sealed like signing secrets) and push rate limits shared by every instance.
 * Frozen once released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { dropColumn } from "./drop-column.js";

export function up(dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("subscriptions", (t) => {
      // Comma-separated delays in ms, at most 99 of at most 24 h each (< 1 KiB).
      t.string("retry_schedule_ms", 1024).nullable();
      // Comma-separated lower-case header names (at most 20 of 128 characters).
      t.string("push_header_names", 2600).nullable();
      // JSON object of the headers, sealed with HERALD_SECRET_KEYS when configured.
      t.text("push_headers_sealed").nullable();
      // "" = no OIDC token; audience "" = the push endpoint's URL.
      t.string("oidc_service_account_email", 320).notNullable().defaultTo("");
      t.string("oidc_audience", 1024).notNullable().defaultTo("");
      // 0 = no limit (every row before this migration).
      t.integer("push_rate_limit_per_second").notNullable().defaultTo(0);
    });
    // One row per rate-limited subscription: the next free send slot, shared by every instance and
    // moved forward by a compare-and-set UPDATE (see knex-push-rate-slot-repository.ts).
    await knex.schema.createTable("push_rate_slots", (t) => {
      t.bigInteger("subscription_id").primary();
      t.bigInteger("next_slot_at_ms").notNullable();
    });
    await knex.schema.createTable("push_oidc_keys", (t) => {
      if (dialect.name === "mysql") {
        t.charset("utf8mb4");
        t.collate("utf8mb4_bin");
      }
      t.bigIncrements("id").primary();
      t.string("kid", 64).notNullable().unique();
      // The public key as a JWK (JSON), served at /.well-known/jwks.json.
      t.text("public_jwk").notNullable();
      // PKCS#8 PEM, sealed with HERALD_SECRET_KEYS when configured.
      t.text("private_key_sealed").notNullable();
      t.bigInteger("created_at_ms").notNullable();
      // Set when a newer key took over signing; published for the overlap after it.
      t.bigInteger("retired_at_ms").nullable();
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("push_rate_slots");
  await knex.schema.dropTableIfExists("push_oidc_keys");
  const columns = [
    "push_rate_limit_per_second",
    "oidc_audience",
    "oidc_service_account_email",
    "push_headers_sealed",
    "push_header_names",
    "retry_schedule_ms",
  ];
  for (const column of columns) {
    await dropColumn(knex, "subscriptions", column);
  }
}
