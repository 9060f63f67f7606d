import { DomainError } from "./domain-error.js";
import { requireMaxBytes, requirePrintable, utf8Length } from "./text-limits.js";

/** A published message (with attributes, ordering key and publisher). Immutable. */
export interface Message {
  id: bigint;
  topicId: bigint;
  publisherId: bigint;
  identifier: string;
  orderingKey: string;
  data: Uint8Array;
  attributes: Record<string, string>;
  /** Publication time, epoch ms. */
  createdAtMs: number;
  /**
   * The W3C trace context of its publish (`traceparent`, then a space and `tracestate` when there
   * is one); only with tracing on. Deliveries link to it; webhook pushes continue it.
   */
  traceContext?: string;
}

/** A message as a publisher submits it, before it has an id. */
export interface OutgoingMessage {
  data: Uint8Array;
  attributes: Record<string, string>;
  orderingKey: string;
  identifier: string;
  /** "" when the publisher did not ask for deduplication. */
  dedupId: string;
  /** Set by the publish use case when tracing is on (see Message.traceContext). */
  traceContext?: string;
  /**
   * Scheduled delivery time, epoch ms: not delivered before it, TTL counted from it. Undefined
   * (or in the past) delivers now; see domain/scheduled-delivery.ts.
   */
  deliverAtMs?: number;
}

export const PUBLISH_LIMITS = Object.freeze({
  maxMessagesPerRequest: 1000,
  maxRequestBytes: 10 * 1024 * 1024,
  maxAttributes: 100,
  maxAttributeKeyBytes: 256,
  maxAttributeValueBytes: 1024,
  maxOrderingKeyBytes: 1024,
  maxIdentifierBytes: 1024,
  maxDedupIdBytes: 256,
});

/**
 * Checks one publish request's messages against the contract's limits, naming the offending field
 * (e.g. `messages[3].attributes`). Returns the payload size in bytes (data plus attribute text).
 */
export function validateOutgoingMessages(messages: readonly OutgoingMessage[]): number {
  const L = PUBLISH_LIMITS;
  if (messages.length === 0) throw DomainError.invalid("messages", "at least one message is required");
  if (messages.length > L.maxMessagesPerRequest) {
    throw DomainError.invalid("messages", `at most ${L.maxMessagesPerRequest} messages per request`);
  }
  let totalBytes = 0;
  messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    const keys = Object.keys(m.attributes);
    if (m.data.length === 0 && keys.length === 0) {
      throw DomainError.invalid(`${at}.data`, "a message needs data or at least one attribute");
    }
    if (keys.length > L.maxAttributes) {
      throw DomainError.invalid(`${at}.attributes`, `at most ${L.maxAttributes} attributes`);
    }
    totalBytes += m.data.length;
    for (const key of keys) {
      const value = m.attributes[key] ?? "";
      if (key.length === 0) throw DomainError.invalid(`${at}.attributes`, "attribute keys must not be empty");
      if (utf8Length(key) > L.maxAttributeKeyBytes) {
        throw DomainError.invalid(
          `${at}.attributes`,
          `attribute key must be at most ${L.maxAttributeKeyBytes} bytes`,
        );
      }
      if (utf8Length(value) > L.maxAttributeValueBytes) {
        throw DomainError.invalid(
          `${at}.attributes`,
          `attribute "${key.slice(0, 64)}" value must be at most ${L.maxAttributeValueBytes} bytes`,
        );
      }
      totalBytes += utf8Length(key) + utf8Length(value);
    }
    requireMaxBytes(`${at}.ordering_key`, m.orderingKey, L.maxOrderingKeyBytes);
    requireMaxBytes(`${at}.identifier`, m.identifier, L.maxIdentifierBytes);
    // Routing keys are text: a NUL or other control character would match differently per database.
    requirePrintable(`${at}.identifier`, m.identifier);
    requirePrintable(`${at}.ordering_key`, m.orderingKey);
    requireMaxBytes(`${at}.dedup_id`, m.dedupId, L.maxDedupIdBytes);
  });
  if (totalBytes > L.maxRequestBytes) {
    throw DomainError.invalid("messages", `request payload must be at most ${L.maxRequestBytes} bytes`);
  }
  return totalBytes;
}

/**
 * What a delivered message weighs for flow control and response bounds: payload bytes plus the
 * UTF-16 length of each attribute key and value. Stored with the message at publish so a claim
 * can bound its load by bytes before reading any payload.
 */
export function messageSizeBytes(data: Uint8Array, attributes: Readonly<Record<string, string>>): number {
  let size = data.length;
  for (const [k, v] of Object.entries(attributes)) size += k.length + v.length;
  return size;
}
