import type { QueueStatus } from "./queue-item.js";

/**
 * Where a Seek to a time moves a subscription's messages (Pub/Sub semantics): messages published
 * before `timeMs` become acked, later ones unacked; an acked later one comes back only while it is
 * retained (published at or after `retainedSinceMs`: the subscription keeps acked messages, or the
 * topic keeps every message). Instants are epoch ms.
 */
export interface SeekTarget {
  timeMs: number;
  /** Acked messages published at or after this are retained (Infinity: none is). */
  retainedSinceMs: number;
}

/**
 * What Seek does to one queue row: `ack` (unfinished, published before the time), `unack` (leased
 * or waiting for a retry, published at or after it: back to pending, deliverable now), `restore`
 * (acked, published at or after it and retained: pending again), or `keep`. Dead-lettered rows are
 * kept: they belong to the dead-letter queue and replay from there. Every changed row gets a new
 * lease token, so ack ids handed out before the seek stop working.
 */
export type SeekOutcome = "ack" | "unack" | "restore" | "keep";

export function seekOutcome(status: QueueStatus, publishedAtMs: number, target: SeekTarget): SeekOutcome {
  const isUnfinished = status === "pending" || status === "leased" || status === "failed";
  if (publishedAtMs < target.timeMs) return isUnfinished ? "ack" : "keep";
  if (status === "leased" || status === "failed") return "unack";
  if (status === "sent" && publishedAtMs >= target.retainedSinceMs) return "restore";
  return "keep";
}

/**
 * From when acked messages of a subscription are retained at `nowMs`: the subscription's own
 * retention (retain_acked_messages, for its message TTL) or the topic's (message retention), the
 * longer of the two; Infinity when neither keeps acked messages.
 */
export function retainedSinceMs(
  nowMs: number,
  subscription: { retainAckedMessages: boolean; messageTtlMs: number },
  topicRetentionMs: number,
): number {
  const bySubscription = subscription.retainAckedMessages ? nowMs - subscription.messageTtlMs : Infinity;
  const byTopic = topicRetentionMs > 0 ? nowMs - topicRetentionMs : Infinity;
  return Math.min(bySubscription, byTopic);
}
