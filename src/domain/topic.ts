import { DomainError } from "./domain-error.js";
import { requireMaxBytes, requireNonEmpty } from "./text-limits.js";

/** A channel messages are published to. Only active topics accept messages. */
export interface Topic {
  id: bigint;
  /** Unique code: dot-separated segments, e.g. "order.payment.completed". */
  code: string;
  name: string;
  description: string;
  isActive: boolean;
  createdAtMs: number;
  updatedAtMs: number;
  /**
   * Messages are kept this long after their publish even when every subscription acked them, so a
   * Seek can replay them (Pub/Sub topic message retention); 0 = not retained. ms.
   */
  messageRetentionMs?: number;
}

/** Topic message retention: 0 (none) or 10 minutes to 31 days, as in Pub/Sub. */
export const TOPIC_RETENTION_MS = Object.freeze({ min: 10 * 60 * 1000, max: 31 * 24 * 60 * 60 * 1000 });

/** Validates a topic's message retention (ms), naming `field`. */
export function validateTopicRetention(field: string, retentionMs: number): void {
  if (retentionMs === 0) return;
  if (
    !Number.isInteger(retentionMs) ||
    retentionMs < TOPIC_RETENTION_MS.min ||
    retentionMs > TOPIC_RETENTION_MS.max
  ) {
    throw DomainError.invalid(field, "must be 0 (none) or between 10 minutes and 31 days");
  }
}

export interface NewTopic {
  code: string;
  name: string;
  description: string;
}

const SEGMENT = "[A-Za-z0-9_-]+";
const TOPIC_CODE_PATTERN = new RegExp(`^${SEGMENT}(\\.${SEGMENT})*$`);

/** Validates a topic code: 1..255 bytes of dot-separated, non-empty segments of letters, digits, '_' and '-'. */
export function validateTopicCode(field: string, code: string): void {
  requireNonEmpty(field, code);
  requireMaxBytes(field, code, 255);
  if (!TOPIC_CODE_PATTERN.test(code)) {
    throw DomainError.invalid(
      field,
      "must be dot-separated segments of letters, digits, '_' and '-' (e.g. user.signup)",
    );
  }
}

/** Checks that the topic is active: only active topics accept messages. */
export function assertTopicAcceptsMessages(topic: Topic): void {
  if (!topic.isActive) throw DomainError.precondition("TOPIC_INACTIVE", `topic "${topic.code}" is inactive`);
}
