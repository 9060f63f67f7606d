import { DomainError } from "../../domain/domain-error.js";
import type { PublishRequest } from "./publish-batch.js";

/** Bounds on the Publish calls waiting for (or riding in) a group commit, on one instance. */
export interface PublishQueueLimits {
  /** Most messages queued or committing at once (HERALD_PUBLISH_QUEUE_MAX_MESSAGES). */
  maxMessages: number;
  /** Most payload bytes (data plus attribute text) queued or committing at once (HERALD_PUBLISH_QUEUE_MAX_BYTES). */
  maxBytes: number;
}

export const DEFAULT_PUBLISH_QUEUE_LIMITS: PublishQueueLimits = Object.freeze({
  maxMessages: 50_000,
  maxBytes: 128 * 1024 * 1024,
});

/** What a committed Publish call gets back. */
export interface CommittedPublish {
  /** Its message ids in request order. */
  messageIds: bigint[];
  /** Subscriptions whose every new row of this group commit went straight to a local taker. */
  servedSubscriptionIds: ReadonlySet<bigint>;
}

/** One Publish call waiting for its group commit. */
export interface QueuedPublish {
  readonly request: PublishRequest;
  readonly bytes: number;
  resolve(committed: CommittedPublish): void;
  reject(error: unknown): void;
}

interface Entry extends QueuedPublish {
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

/**
 * The publish group-commit queue: bounded by messages AND bytes, counting both the calls waiting
 * and the batch being committed, because both hold their payloads in memory. Past either bound a
 * call is refused with RESOURCE_EXHAUSTED (a database stall must not grow memory without limit);
 * one call alone may exceed the bounds, so no valid request is refused forever. A call whose
 * signal aborts (client cancelled, deadline passed) leaves the queue at once and is never
 * committed; one that aborts after its batch was taken still commits (the statements are sent).
 */
export class PublishQueue {
  private readonly waiting: Entry[] = [];
  private messages = 0;
  private bytes = 0;

  constructor(private readonly limits: PublishQueueLimits = DEFAULT_PUBLISH_QUEUE_LIMITS) {}

  /** Calls waiting to be taken into a batch. */
  get length(): number {
    return this.waiting.length;
  }

  /** Messages and bytes held by waiting and committing calls. */
  held(): { messages: number; bytes: number } {
    return { messages: this.messages, bytes: this.bytes };
  }

  /**
   * Queues a call; resolves with its message ids once its batch committed. Throws
   * RESOURCE_EXHAUSTED when the queue is full, and rejects with the signal's reason when it aborts
   * while waiting.
   */
  add(request: PublishRequest, bytes: number, signal?: AbortSignal): Promise<CommittedPublish> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const count = request.messages.length;
    const isAlone = this.messages === 0 && this.bytes === 0;
    if (
      !isAlone &&
      (this.messages + count > this.limits.maxMessages || this.bytes + bytes > this.limits.maxBytes)
    ) {
      throw new DomainError(
        "resource_exhausted",
        "PUBLISH_QUEUE_FULL",
        `too many publishes are waiting for the database (${this.messages} messages, ${this.bytes} bytes queued; limits ${this.limits.maxMessages} messages, ${this.limits.maxBytes} bytes): retry later`,
      );
    }
    return new Promise<CommittedPublish>((resolve, reject) => {
      const entry: Entry = {
        request,
        bytes,
        signal,
        onAbort: undefined,
        settled: false,
        resolve: (committed) => this.settle(entry, () => resolve(committed)),
        reject: (error) => this.settle(entry, () => reject(error)),
      };
      if (signal) {
        entry.onAbort = () => {
          const at = this.waiting.indexOf(entry);
          if (at < 0) return; // already taken into a batch: it commits
          this.waiting.splice(at, 1);
          entry.reject(abortReason(signal));
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      this.messages += count;
      this.bytes += bytes;
      this.waiting.push(entry);
    });
  }

  /**
   * Takes the next batch: calls in arrival order up to `maxMessages` messages (the first one
   * whatever its size). Calls whose signal aborted are rejected and left out, so abandoned work
   * never reaches a transaction.
   */
  take(maxMessages: number): QueuedPublish[] {
    const batch: QueuedPublish[] = [];
    let count = 0;
    while (this.waiting.length > 0) {
      const next = this.waiting[0] as Entry;
      if (next.signal?.aborted) {
        this.waiting.shift();
        next.reject(abortReason(next.signal));
        continue;
      }
      if (batch.length > 0 && count + next.request.messages.length > maxMessages) break;
      this.waiting.shift();
      if (next.signal && next.onAbort) next.signal.removeEventListener("abort", next.onAbort);
      batch.push(next);
      count += next.request.messages.length;
    }
    return batch;
  }

  private settle(entry: Entry, finish: () => void): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.signal && entry.onAbort) entry.signal.removeEventListener("abort", entry.onAbort);
    this.messages -= entry.request.messages.length;
    this.bytes -= entry.bytes;
    finish();
  }
}

/** connect aborts a call's signal with a ConnectError (CANCELED, DEADLINE_EXCEEDED), passed through as is. */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DomainError("unavailable", "PUBLISH_CANCELLED", "the publish was cancelled");
}
