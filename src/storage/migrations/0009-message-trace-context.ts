/**
 * Each message's W3C trace context (the publish span's `traceparent`, then a space and its
 * `tracestate` when there is one), written only when OpenTelemetry tracing is on, so deliveries
 * can link to the publisher's trace. NULL for messages published with tracing off. Frozen once
 * released.
 */
import type { Knex } from "knex";
import type { Dialect } from "../dialect.js";
import { dropColumn } from "./drop-column.js";

/** Longest stored trace context: traceparent (55) + space + tracestate (512 by the W3C limit), with room. */
export const TRACE_CONTEXT_MAX_LENGTH = 1024;

export function up(_dialect: Dialect) {
  return async (knex: Knex): Promise<void> => {
    await knex.schema.alterTable("messages", (t) => {
      t.string("trace_context", TRACE_CONTEXT_MAX_LENGTH).nullable();
    });
  };
}

export async function down(knex: Knex): Promise<void> {
  await dropColumn(knex, "messages", "trace_context");
}
