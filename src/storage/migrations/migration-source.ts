/**
 * Migrations are imported statically, so they run the same under tsx, vitest and a bundle, and
 * knex never loads files by extension (mixing .ts and .js names corrupts its bookkeeping).
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import * as initial from "./0001-initial.js";
import * as pubsubCompatibility from "./0002-pubsub-compatibility.js";
import * as hardeningAuth from "./0003-hardening-auth.js";
import * as deadLetterForwardTokens from "./0004-dead-letter-forward-tokens.js";
import * as publishOrderLocks from "./0005-publish-order-locks.js";
import * as messageSize from "./0006-message-size.js";
import * as pushSchedulesAndAuth from "./0007-push-schedules-and-auth.js";
import * as replayAndScheduling from "./0008-replay-and-scheduling.js";
import * as messageTraceContext from "./0009-message-trace-context.js";
import * as publishOrderLockWrites from "./0010-publish-order-lock-writes.js";
import * as snapshots from "./0011-snapshots.js";
import * as exactlyOnceDelivery from "./0012-exactly-once-delivery.js";

interface Migration {
  name: string;
  up(dialect: Dialect): (knex: Knex) => Promise<void>;
  down(knex: Knex): Promise<void>;
}

const MIGRATIONS: readonly Migration[] = [
  { name: "0001-initial", up: initial.up, down: initial.down },
  { name: "0002-pubsub-compatibility", up: pubsubCompatibility.up, down: pubsubCompatibility.down },
  { name: "0003-hardening-auth", up: hardeningAuth.up, down: hardeningAuth.down },
  {
    name: "0004-dead-letter-forward-tokens",
    up: deadLetterForwardTokens.up,
    down: deadLetterForwardTokens.down,
  },
  { name: "0005-publish-order-locks", up: publishOrderLocks.up, down: publishOrderLocks.down },
  { name: "0006-message-size", up: messageSize.up, down: messageSize.down },
  {
    name: "0007-push-schedules-and-auth",
    up: pushSchedulesAndAuth.up,
    down: pushSchedulesAndAuth.down,
  },
  { name: "0008-replay-and-scheduling", up: replayAndScheduling.up, down: replayAndScheduling.down },
  { name: "0009-message-trace-context", up: messageTraceContext.up, down: messageTraceContext.down },
  {
    name: "0010-publish-order-lock-writes",
    up: publishOrderLockWrites.up,
    down: publishOrderLockWrites.down,
  },
  { name: "0011-snapshots", up: snapshots.up, down: snapshots.down },
  { name: "0012-exactly-once-delivery", up: exactlyOnceDelivery.up, down: exactlyOnceDelivery.down },
];

export function createMigrationSource(dialect: Dialect): Knex.MigrationSource<Migration> {
  return {
    getMigrations: async () => [...MIGRATIONS],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => ({ up: m.up(dialect), down: m.down }),
  };
}

/** The names knex records for Herald's migrations, in order. */
export function migrationNames(): string[] {
  return MIGRATIONS.map((m) => m.name);
}
