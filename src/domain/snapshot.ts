import { DomainError } from "./domain-error.js";
import type { QueueStatus } from "./queue-item.js";
import { validateSubscriptionName } from "./subscription.js";

/**
 * A snapshot of a subscription's acked state (Pub/Sub semantics): it holds every message that was
 * unacked in its source subscription when it was taken, plus every message published to the topic
 * afterwards (those with an id above `afterMessageId`). Seek to it makes exactly those unacked
 * and every other message acked.
 */
export interface Snapshot {
  id: bigint;
  name: string;
  topicId: bigint;
  /** The topic's code, "" when the topic has since been deleted. */
  topicCode: string;
  /** The subscription it was taken from (informational; seek may target any subscription of the topic). */
  sourceSubscription: string;
  /** Messages with a larger id were published after the snapshot and belong to it. */
  afterMessageId: bigint;
  labels: Readonly<Record<string, string>>;
  /** Pub/Sub project the snapshot was created under ("" from Herald's own API). */
  pubsubProject: string;
  expireAtMs: number;
  createdAtMs: number;
  updatedAtMs: number;
}

/** Pub/Sub's snapshot lifetime: 7 days from creation at most. */
export const SNAPSHOT_MAX_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** Labels a snapshot may carry, and their key/value bounds (Pub/Sub's). */
export const SNAPSHOT_LABEL_LIMITS = { maxLabels: 64, maxKeyBytes: 63, maxValueBytes: 63 } as const;

const LABEL_KEY = /^[a-z][a-z0-9_-]*$/;
const LABEL_VALUE = /^[a-z0-9_-]*$/;

/**
 * When a snapshot taken at `createdAtMs` expires: 7 days later, or sooner when the oldest message
 * it holds (published at `oldestUnackedPublishedAtMs`, undefined when the backlog was empty) would
 * leave retention — the longer of the subscription's message retention and the topic's.
 */
export function snapshotExpireAtMs(
  createdAtMs: number,
  oldestUnackedPublishedAtMs: number | undefined,
  retentionMs: { subscriptionMs: number; topicMs: number },
): number {
  const byLifetime = createdAtMs + SNAPSHOT_MAX_LIFETIME_MS;
  if (oldestUnackedPublishedAtMs === undefined) return byLifetime;
  const keptFor = Math.max(retentionMs.subscriptionMs, retentionMs.topicMs);
  return Math.min(byLifetime, oldestUnackedPublishedAtMs + keptFor);
}

/** An expire time a client asks for on update: in the future and not past 7 days from creation. */
export function validateSnapshotExpireAt(
  field: string,
  expireAtMs: number,
  snapshot: Pick<Snapshot, "createdAtMs">,
  nowMs: number,
): void {
  if (expireAtMs <= nowMs) throw DomainError.invalid(field, "must be in the future");
  if (expireAtMs > snapshot.createdAtMs + SNAPSHOT_MAX_LIFETIME_MS) {
    throw DomainError.invalid(field, "must be at most 7 days after the snapshot was created");
  }
}

/** Snapshot names follow subscription names: letters, digits, '.', '_' or '-', at most 255 bytes. */
export function validateSnapshotName(field: string, name: string): void {
  validateSubscriptionName(field, name);
}

/** Pub/Sub's label rules: at most 64, keys start with a lowercase letter, both at most 63 bytes. */
export function validateSnapshotLabels(field: string, labels: Readonly<Record<string, string>>): void {
  const entries = Object.entries(labels);
  if (entries.length > SNAPSHOT_LABEL_LIMITS.maxLabels) {
    throw DomainError.invalid(field, `at most ${SNAPSHOT_LABEL_LIMITS.maxLabels} labels`);
  }
  for (const [key, value] of entries) {
    if (key.length > SNAPSHOT_LABEL_LIMITS.maxKeyBytes || !LABEL_KEY.test(key)) {
      throw DomainError.invalid(
        field,
        "keys must be 1-63 lowercase letters, digits, '_' or '-', starting with a letter",
      );
    }
    if (value.length > SNAPSHOT_LABEL_LIMITS.maxValueBytes || !LABEL_VALUE.test(value)) {
      throw DomainError.invalid(field, "values must be at most 63 lowercase letters, digits, '_' or '-'");
    }
  }
}

/** Whether the snapshot answers NOT_FOUND at `nowMs`. */
export function isSnapshotExpired(snapshot: Pick<Snapshot, "expireAtMs">, nowMs: number): boolean {
  return snapshot.expireAtMs <= nowMs;
}

/**
 * What Seek to a snapshot does to one queue row, given whether the snapshot holds its message:
 * held → unfinished leased/retrying rows and acked rows become pending (`unack` / `restore`),
 * pending ones stay; not held → unfinished rows are acked. Dead-lettered rows are kept (they
 * replay from the dead-letter queue), as in Seek to a time.
 */
export function snapshotSeekOutcome(
  status: QueueStatus,
  isHeldBySnapshot: boolean,
): "ack" | "unack" | "restore" | "keep" {
  if (status === "dead_lettered") return "keep";
  if (!isHeldBySnapshot) return status === "sent" ? "keep" : "ack";
  if (status === "leased" || status === "failed") return "unack";
  if (status === "sent") return "restore";
  return "keep";
}
