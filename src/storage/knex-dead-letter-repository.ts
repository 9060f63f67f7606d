import { randomBytes } from "node:crypto";
import type { Knex } from "knex";
import type { DeadLetterEntry, DeadLetterRepository } from "../app/ports/dead-letter-repository.js";
import type { DeadLetter, FailureReason } from "../domain/dead-letter.js";
import { idParam, toBigInt, toBoolean, toBytes, toNumber, toNumberOrNull } from "./row-values.js";

export interface DeadLetterRow {
  id: unknown;
  subscription_id: unknown;
  message_id: unknown;
  original_queue_id: unknown;
  attempt_count: unknown;
  last_error: string | null;
  failure_reason: string;
  last_http_status: unknown;
  first_attempt_at_ms: unknown;
  last_attempt_at_ms: unknown;
  moved_at_ms: unknown;
  message_data: unknown;
  callback_url: string | null;
  is_resolved: unknown;
  resolved_at_ms: unknown;
  resolved_by: string | null;
  resolution_note: string | null;
  created_at_ms: unknown;
}

export function toDeadLetterState(row: DeadLetterRow): DeadLetter {
  return {
    id: toBigInt(row.id),
    subscriptionId: toBigInt(row.subscription_id),
    messageId: toBigInt(row.message_id),
    originalQueueId: toBigInt(row.original_queue_id),
    attemptCount: toNumber(row.attempt_count),
    lastError: row.last_error,
    failureReason: row.failure_reason as FailureReason,
    lastHttpStatus: toNumberOrNull(row.last_http_status),
    firstAttemptAtMs: toNumberOrNull(row.first_attempt_at_ms),
    lastAttemptAtMs: toNumberOrNull(row.last_attempt_at_ms),
    movedToDlqAtMs: toNumber(row.moved_at_ms),
    messageData: toBytes(row.message_data),
    callbackUrl: row.callback_url,
    isResolved: toBoolean(row.is_resolved),
    resolvedAtMs: toNumberOrNull(row.resolved_at_ms),
    resolvedBy: row.resolved_by,
    resolutionNote: row.resolution_note,
    createdAtMs: toNumber(row.created_at_ms),
  };
}

export class KnexDeadLetterRepository implements DeadLetterRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  /**
   * One INSERT … SELECT per distinct (reason, error, status) — usually one — copying the attempt
   * history from the queue row (update it first) and the payload and callback URL from their tables.
   */
  async countUnresolved(subscriptionId: bigint): Promise<number> {
    const row = (await this.db("dead_letters")
      .where({ subscription_id: idParam(subscriptionId), is_resolved: false })
      .count({ n: "*" })
      .first()) as { n: unknown } | undefined;
    return row ? Number(row.n) : 0;
  }

  async insertFromQueue(entries: readonly DeadLetterEntry[], nowMs: number): Promise<void> {
    if (entries.length === 0) return;
    const groups = new Map<string, { entry: DeadLetterEntry; ids: string[] }>();
    for (const e of entries) {
      const key = JSON.stringify([e.failureReason, e.lastError, e.lastHttpStatus]);
      const group = groups.get(key) ?? { entry: e, ids: [] };
      group.ids.push(idParam(e.queueId));
      groups.set(key, group);
    }
    for (const { entry, ids } of groups.values()) {
      await this.db.raw(
        `INSERT INTO dead_letters
           (subscription_id, message_id, original_queue_id, attempt_count, last_error, failure_reason,
            last_http_status, first_attempt_at_ms, last_attempt_at_ms, moved_at_ms, message_data,
            callback_url, is_resolved, resolved_at_ms, resolved_by, resolution_note, created_at_ms)
         SELECT q.subscription_id, q.message_id, q.id, q.attempt_count, ?, ?, ?, q.first_attempt_at_ms,
                q.last_attempt_at_ms, ?, m.data,
                CASE WHEN s.delivery_type <> 'push' THEN NULL
                     WHEN s.push_endpoint <> '' THEN s.push_endpoint ELSE sb.webhook_url END,
                0, NULL, NULL, NULL, ?
         FROM queue_items q
         JOIN messages m ON m.id = q.message_id
         JOIN subscriptions s ON s.id = q.subscription_id
         JOIN subscribers sb ON sb.id = s.subscriber_id
         WHERE q.id IN (${ids.map(() => "?").join(", ")})
         ORDER BY q.id`,
        [entry.lastError, entry.failureReason, entry.lastHttpStatus, nowMs, nowMs, ...ids],
      );
    }
    // Outbox rows for subscriptions with a dead-letter topic, in the same transaction, so a dead
    // letter is forwarded exactly when it exists (the forwarder publishes and deletes the row).
    // Each carries a random token for the forward's dedup id: stable for the row's life, unguessable.
    const allIds = entries.map((e) => idParam(e.queueId));
    const rows = (await this.db("dead_letters as d")
      .join("subscriptions as s", "s.id", "d.subscription_id")
      .whereIn("d.original_queue_id", allIds)
      .where("d.moved_at_ms", nowMs)
      .whereNotNull("s.dead_letter_topic_id")
      .whereNotExists(
        this.db("dead_letter_forwards as f").select(this.db.raw("1")).whereRaw("f.dead_letter_id = d.id"),
      )
      .orderBy("d.id")
      .select("d.id", "s.dead_letter_topic_id")) as { id: unknown; dead_letter_topic_id: unknown }[];
    if (rows.length === 0) return;
    await this.db("dead_letter_forwards").insert(
      rows.map((r) => ({
        dead_letter_id: idParam(toBigInt(r.id)),
        topic_id: idParam(toBigInt(r.dead_letter_topic_id)),
        created_at_ms: nowMs,
        dedup_token: randomBytes(16).toString("hex"),
      })),
    );
  }

  async listBySubscription(subscriptionId: bigint): Promise<DeadLetter[]> {
    const rows = (await this.db("dead_letters")
      .where("subscription_id", idParam(subscriptionId))
      .orderBy("id")) as DeadLetterRow[];
    return rows.map(toDeadLetterState);
  }
}
