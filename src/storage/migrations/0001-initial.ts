/**
 * The initial schema. Frozen once released: later changes are new migrations.
 * Instants are epoch-millisecond BIGINTs set by the application (never database defaults), so
 * both databases hold the same values; ids are BIGINT and read back exactly.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";

/** Byte-exact comparison on MySQL, as on SQLite: codes, names and identifiers are case-sensitive. */
function binaryCollation(dialect: Dialect, t: Knex.CreateTableBuilder): void {
  if (dialect.name === "mysql") {
    t.charset("utf8mb4");
    t.collate("utf8mb4_bin");
  }
}

function timestamps(t: Knex.CreateTableBuilder): void {
  t.bigInteger("created_at_ms").notNullable();
  t.bigInteger("updated_at_ms").notNullable();
}

export function up(dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.createTable("publishers", (t) => {
      binaryCollation(dialect, t);
      t.bigIncrements("id").primary();
      t.string("code", 128).notNullable().unique("publishers_code_unique");
      t.string("name", 255).notNullable();
      t.text("description").notNullable();
      t.boolean("is_active").notNullable();
      timestamps(t);
    });

    await knex.schema.createTable("topics", (t) => {
      binaryCollation(dialect, t);
      t.bigIncrements("id").primary();
      t.string("code", 255).notNullable().unique("topics_code_unique");
      t.string("name", 255).notNullable();
      t.text("description").notNullable();
      t.boolean("is_active").notNullable();
      timestamps(t);
    });

    await knex.schema.createTable("subscribers", (t) => {
      binaryCollation(dialect, t);
      t.bigIncrements("id").primary();
      t.bigInteger("client_id").notNullable().index("subscribers_client_idx");
      t.string("name", 255).notNullable();
      t.string("webhook_url", 2048).notNullable();
      // Standard Webhooks signing secrets ("whsec_…"). Kept readable because HMAC needs them; never
      // returned by the API except once on create and on rotate, never logged.
      t.string("signing_secret", 128).notNullable();
      t.string("previous_signing_secret", 128).nullable();
      t.bigInteger("previous_secret_expires_at_ms").nullable();
      t.boolean("is_active").notNullable();
      timestamps(t);
    });

    // API keys of publishers and subscribers: only a SHA-256 of each key is stored, found by its
    // public prefix. A rotation sets expires_at_ms on the keys it supersedes (the overlap).
    await knex.schema.createTable("api_keys", (t) => {
      binaryCollation(dialect, t);
      t.bigIncrements("id").primary();
      t.string("owner_kind", 16).notNullable();
      t.bigInteger("owner_id").unsigned().notNullable();
      t.string("prefix", 32).notNullable().unique("api_keys_prefix_unique");
      t.string("key_hash", 64).notNullable();
      t.bigInteger("created_at_ms").notNullable();
      t.bigInteger("expires_at_ms").nullable();
      t.index(["owner_kind", "owner_id"], "api_keys_owner_idx");
    });

    await knex.schema.createTable("subscriptions", (t) => {
      binaryCollation(dialect, t);
      t.bigIncrements("id").primary();
      t.string("name", 255).notNullable().unique("subscriptions_name_unique");
      t.bigInteger("subscriber_id").unsigned().notNullable().references("id").inTable("subscribers");
      t.bigInteger("topic_id").unsigned().notNullable().references("id").inTable("topics");
      t.string("identifier_filter", 1024).notNullable();
      // Dialect-specific match pattern derived from identifier_filter (LIKE on MySQL, GLOB on SQLite).
      t.string("identifier_pattern", 2048).notNullable();
      t.string("delivery_type", 8).notNullable();
      t.string("push_endpoint", 2048).notNullable();
      t.integer("ack_deadline_seconds").notNullable();
      t.integer("max_delivery_attempts").notNullable();
      t.bigInteger("min_backoff_ms").notNullable();
      t.bigInteger("max_backoff_ms").notNullable();
      t.bigInteger("message_ttl_ms").notNullable();
      t.boolean("enable_ordering").notNullable();
      t.boolean("is_active").notNullable();
      timestamps(t);
      t.bigInteger("deleted_at_ms").nullable();
      // Push endpoint health: paused subscriptions are skipped by the pusher until resumed.
      t.bigInteger("paused_at_ms").nullable();
      t.string("pause_reason", 512).nullable();
      t.bigInteger("push_failing_since_ms").nullable();
      t.bigInteger("last_push_success_at_ms").nullable();
      // Publish fans out by topic to live subscriptions.
      t.index(["topic_id", "is_active"], "subscriptions_topic_idx");
      t.index(["subscriber_id"], "subscriptions_subscriber_idx");
    });

    await knex.schema.createTable("messages", (t) => {
      binaryCollation(dialect, t);
      t.bigIncrements("id").primary();
      t.bigInteger("topic_id").unsigned().notNullable().references("id").inTable("topics");
      t.bigInteger("publisher_id").unsigned().notNullable().references("id").inTable("publishers");
      t.string("identifier", 1024).notNullable();
      t.string("ordering_key", 1024).notNullable();
      // 63-bit hash of ordering_key (0 when empty), copied to queue rows: keys are too long to index.
      t.bigInteger("ordering_key_hash").notNullable();
      t.specificType("data", dialect.blobType).notNullable();
      // JSON object of string attributes, as text (MariaDB's JSON is LONGTEXT anyway; this keeps both drivers alike).
      t.text("attributes", "mediumtext").notNullable();
      t.bigInteger("created_at_ms").notNullable();
      t.index(["topic_id", "id"], "messages_topic_idx");
      t.index(["publisher_id", "id"], "messages_publisher_idx");
      t.index(["created_at_ms"], "messages_created_idx");
    });

    // dedup_id → message_id per publisher for the dedup window; the primary key makes concurrent
    // publishes of one dedup_id collide instead of both succeeding.
    await knex.schema.createTable("message_dedup", (t) => {
      binaryCollation(dialect, t);
      t.bigInteger("publisher_id").unsigned().notNullable();
      t.specificType("dedup_id", dialect.exactKeyType(256)).notNullable();
      t.bigInteger("message_id").unsigned().notNullable();
      t.bigInteger("expires_at_ms").notNullable();
      t.primary(["publisher_id", "dedup_id"]);
      t.index(["expires_at_ms"], "message_dedup_expiry_idx");
    });

    // The delivery queue (the seed's Queue). status: pending → leased → sent, or leased → failed
    // (waiting for its retry) → leased …, or → dead_lettered. available_at_ms is when a claim may
    // take the row (pending: now; failed: its retry time; leased: lease expiry, for the sweeper) and
    // NULL once terminal, which keeps finished rows out of the claim index range. lease_token grows
    // with every claim: acks carry it, so an ack of an older delivery never acks a newer one.
    await knex.schema.createTable("queue_items", (t) => {
      binaryCollation(dialect, t);
      t.bigIncrements("id").primary();
      t.bigInteger("subscription_id").unsigned().notNullable().references("id").inTable("subscriptions");
      t.bigInteger("message_id").unsigned().notNullable().references("id").inTable("messages");
      t.string("status", 16).notNullable();
      t.integer("attempt_count").notNullable();
      t.bigInteger("available_at_ms").nullable();
      t.string("lease_owner", 64).nullable();
      t.bigInteger("lease_token").notNullable();
      t.bigInteger("lease_expires_at_ms").nullable();
      // grpc | pull | webhook: how the current or last attempt was made, for the delivery log.
      t.string("delivery_method", 16).nullable();
      t.bigInteger("first_attempt_at_ms").nullable();
      t.bigInteger("last_attempt_at_ms").nullable();
      t.bigInteger("next_retry_at_ms").nullable();
      t.text("last_error").nullable();
      t.bigInteger("expires_at_ms").notNullable();
      t.bigInteger("sequence_number").notNullable();
      t.bigInteger("ordering_key_hash").notNullable();
      t.bigInteger("completed_at_ms").nullable();
      timestamps(t);
      // Claim: WHERE subscription_id = ? AND available_at_ms <= ? ORDER BY available_at_ms, id.
      t.index(["subscription_id", "available_at_ms", "id"], "queue_items_claim_idx");
      // Ordered claim: is there an unfinished earlier item of the same key?
      t.index(["subscription_id", "ordering_key_hash", "sequence_number"], "queue_items_ordering_idx");
      // Sweeper: expired leases (status = leased, available_at_ms <= now).
      t.index(["status", "available_at_ms", "id"], "queue_items_sweep_idx");
      // Sweeper: items past their TTL (status IN (pending, failed), expires_at_ms <= now).
      t.index(["status", "expires_at_ms"], "queue_items_expiry_idx");
      t.index(["message_id"], "queue_items_message_idx");
      t.index(["subscription_id", "status", "id"], "queue_items_status_idx");
    });

    // The seed's DeadLetterQueue; message data and callback URL are denormalized on purpose.
    await knex.schema.createTable("dead_letters", (t) => {
      binaryCollation(dialect, t);
      t.bigIncrements("id").primary();
      t.bigInteger("subscription_id").unsigned().notNullable().references("id").inTable("subscriptions");
      t.bigInteger("message_id").unsigned().notNullable().references("id").inTable("messages");
      t.bigInteger("original_queue_id").unsigned().notNullable();
      t.integer("attempt_count").notNullable();
      t.text("last_error").nullable();
      t.string("failure_reason", 64).notNullable();
      t.integer("last_http_status").nullable();
      t.bigInteger("first_attempt_at_ms").nullable();
      t.bigInteger("last_attempt_at_ms").nullable();
      t.bigInteger("moved_at_ms").notNullable();
      t.specificType("message_data", dialect.blobType).notNullable();
      t.string("callback_url", 2048).nullable();
      t.boolean("is_resolved").notNullable();
      t.bigInteger("resolved_at_ms").nullable();
      t.string("resolved_by", 255).nullable();
      t.text("resolution_note").nullable();
      t.bigInteger("created_at_ms").notNullable();
      t.index(["subscription_id", "moved_at_ms"], "dead_letters_subscription_idx");
      t.index(["is_resolved", "moved_at_ms"], "dead_letters_resolved_idx");
      t.index(["message_id"], "dead_letters_message_idx");
    });

    // The seed's NotificationLog: one row per delivery attempt, written in batches.
    await knex.schema.createTable("notification_logs", (t) => {
      binaryCollation(dialect, t);
      t.bigIncrements("id").primary();
      t.bigInteger("subscription_id").unsigned().notNullable();
      t.bigInteger("message_id").unsigned().notNullable();
      t.bigInteger("queue_item_id").unsigned().nullable();
      t.string("identifier", 1024).notNullable();
      t.string("topic_code", 255).notNullable();
      t.string("subscriber_type", 16).notNullable();
      t.bigInteger("subscriber_id").unsigned().notNullable();
      t.string("delivery_method", 16).notNullable();
      t.string("status", 16).notNullable();
      t.string("skipped_reason", 255).nullable();
      t.integer("http_status").nullable();
      t.integer("duration_ms").nullable();
      t.text("error").nullable();
      t.bigInteger("sent_at_ms").nullable();
      t.bigInteger("created_at_ms").notNullable();
      t.index(["message_id", "id"], "notification_logs_message_idx");
      t.index(["subscription_id", "created_at_ms"], "notification_logs_subscription_idx");
      t.index(["created_at_ms"], "notification_logs_created_idx");
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    "notification_logs",
    "dead_letters",
    "queue_items",
    "message_dedup",
    "messages",
    "subscriptions",
    "subscribers",
    "topics",
    "api_keys",
    "publishers",
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
