import type { Knex } from "knex";
import type { MessageRepository, MessageToStore } from "../app/ports/message-repository.js";
import { type Message, messageSizeBytes } from "../domain/message.js";
import { rowsPerStatement } from "./bound-parameters.js";
import type { Dialect } from "./dialect.js";
import { PUBLISH_ORDER_LOCK_SLOTS } from "./migrations/0005-publish-order-locks.js";
import { insertRowsReturningIds } from "./multi-row-insert.js";
import { orderingKeyHash } from "./ordering-key-hash.js";
import { idParam, toBigInt, toBytes, toNumber } from "./row-values.js";

const COLUMNS = [
  "topic_id",
  "publisher_id",
  "identifier",
  "ordering_key",
  "ordering_key_hash",
  "data",
  "attributes",
  "created_at_ms",
  "size_bytes",
  "deliver_at_ms",
] as const;
/** With tracing on: the same plus each message's trace context (left out when off, costing nothing). */
const TRACED_COLUMNS = [...COLUMNS, "trace_context"] as const;

interface MessageRow {
  id: unknown;
  topic_id: unknown;
  publisher_id: unknown;
  identifier: string;
  ordering_key: string;
  data: unknown;
  attributes: string;
  created_at_ms: unknown;
  trace_context?: string | null;
}

export function toMessage(row: MessageRow): Message {
  return {
    id: toBigInt(row.id),
    topicId: toBigInt(row.topic_id),
    publisherId: toBigInt(row.publisher_id),
    identifier: row.identifier,
    orderingKey: row.ordering_key,
    data: toBytes(row.data),
    attributes: JSON.parse(row.attributes) as Record<string, string>,
    createdAtMs: toNumber(row.created_at_ms),
    ...(row.trace_context ? { traceContext: row.trace_context } : {}),
  };
}

export class KnexMessageRepository implements MessageRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly dialect: Dialect,
  ) {}

  async insertMany(messages: readonly MessageToStore[]): Promise<bigint[]> {
    await this.lockPublishOrder(messages);
    const ids: bigint[] = [];
    for (const chunk of this.chunkByBytes(messages)) {
      const isTraced = chunk.some((m) => m.traceContext !== undefined);
      const rows = chunk.map((m) => [
        idParam(m.topicId),
        idParam(m.publisherId),
        m.identifier,
        m.orderingKey,
        orderingKeyHash(m.orderingKey),
        Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
        JSON.stringify(m.attributes),
        m.createdAtMs,
        messageSizeBytes(m.data, m.attributes),
        m.deliverAtMs ?? null,
        ...(isTraced ? [m.traceContext ?? null] : []),
      ]);
      const columns = isTraced ? TRACED_COLUMNS : COLUMNS;
      ids.push(...(await insertRowsReturningIds(this.db, this.dialect, "messages", columns, rows)));
    }
    return ids;
  }

  async findById(id: bigint): Promise<Message | undefined> {
    const row = (await this.db("messages")
      .where({ id: idParam(id) })
      .first()) as MessageRow | undefined;
    return row ? toMessage(row) : undefined;
  }

  async findMany(ids: readonly bigint[]): Promise<Map<bigint, Message>> {
    const found = new Map<bigint, Message>();
    if (ids.length === 0) return found;
    const rows = (await this.db("messages").whereIn("id", ids.map(idParam))) as MessageRow[];
    for (const row of rows) {
      const message = toMessage(row);
      found.set(message.id, message);
    }
    return found;
  }

  /**
   * Locks (by writing) the publish_order_locks slot of every ordering key among `messages`, in slot
   * order (so two publishes never wait for each other crosswise), until the transaction ends: a concurrent publish
   * of the same key on another connection inserts only after this one committed, so its ids are
   * larger and no consumer can see a later message of the key before an earlier one exists.
   */
  private async lockPublishOrder(messages: readonly MessageToStore[]): Promise<void> {
    if (!this.dialect.locksPublishOrder) return;
    const slots = new Set<number>();
    for (const m of messages) {
      if (m.orderingKey !== "") slots.add(orderingSlot(m.orderingKey));
    }
    if (slots.size === 0) return;
    const sorted = [...slots].sort((a, b) => a - b);
    // A write, not just FOR UPDATE: on Galera only written rows conflict across nodes (migration 0010).
    await this.db.raw(
      `UPDATE publish_order_locks SET publish_count = publish_count + 1 WHERE slot IN (${sorted.map(() => "?").join(", ")}) ORDER BY slot`,
      sorted,
    );
  }

  /** Splits a publish into statements small enough for the database's packet and parameter limits. */
  private *chunkByBytes(messages: readonly MessageToStore[]): Generator<MessageToStore[]> {
    const maxRows = rowsPerStatement(this.dialect.maxBoundParameters, TRACED_COLUMNS.length);
    let chunk: MessageToStore[] = [];
    let bytes = 0;
    for (const m of messages) {
      // Hex encoding doubles payload bytes on MySQL; attributes are JSON text.
      const size =
        m.data.length * 2 + m.identifier.length + m.orderingKey.length + (m.traceContext?.length ?? 0) + 256;
      const attrSize = Object.entries(m.attributes).reduce((n, [k, v]) => n + k.length + v.length + 6, 0);
      if (
        chunk.length > 0 &&
        (chunk.length >= maxRows || bytes + size + attrSize > this.dialect.maxStatementBytes)
      ) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(m);
      bytes += size + attrSize;
    }
    if (chunk.length > 0) yield chunk;
  }
}

/** The lock slot of an ordering key: its stored hash modulo the fixed number of slots. */
function orderingSlot(orderingKey: string): number {
  return Number(BigInt(orderingKeyHash(orderingKey)) % BigInt(PUBLISH_ORDER_LOCK_SLOTS));
}
