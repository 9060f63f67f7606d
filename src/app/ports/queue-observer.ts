import type { DeliveryMethod } from "../../domain/notification-log.js";

/**
 * How a delivery attempt ended: `sent` (acked), `failed` (will be retried), `dead_lettered` (failed
 * with no attempt left, or 410 Gone), or `expired` (its TTL passed before it was delivered).
 */
export type DeliveryOutcome = "sent" | "failed" | "dead_lettered" | "expired";

/**
 * What the use cases report for operations (metrics), always after the transaction that recorded it
 * committed, so a retried transaction is counted once. Implemented at the composition root.
 */
export interface QueueObserver {
  /** `count` deliveries made with `method` ended with `outcome`. */
  deliveryOutcome(method: DeliveryMethod, outcome: DeliveryOutcome, count: number): void;
  /** One delivery was acked `publishToAckMs` after its message was published. */
  deliveryAcked(method: DeliveryMethod, publishToAckMs: number): void;
  /** One claim transaction (lock, lease) took `durationMs`, whether or not it found work. */
  claimFinished(durationMs: number): void;
  /** One publish transaction (messages, dedup ids, fan-out) took `durationMs`, committed or not. */
  publishTransactionFinished(durationMs: number): void;
}

/** The observer that ignores everything: the default of every use case. */
export const ignoreQueueEvents: QueueObserver = Object.freeze({
  deliveryOutcome: () => undefined,
  deliveryAcked: () => undefined,
  claimFinished: () => undefined,
  publishTransactionFinished: () => undefined,
});

/**
 * Outcomes gathered inside one transaction attempt, reported with `reportTo` once it committed.
 * A transaction that is retried builds a new tally on each run.
 */
export class DeliveryTally {
  private readonly counts = new Map<
    string,
    { method: DeliveryMethod; outcome: DeliveryOutcome; n: number }
  >();
  private readonly acks: { method: DeliveryMethod; publishToAckMs: number }[] = [];

  count(method: DeliveryMethod, outcome: DeliveryOutcome, n = 1): this {
    if (n <= 0) return this;
    const key = `${method}:${outcome}`;
    const entry = this.counts.get(key) ?? { method, outcome, n: 0 };
    entry.n += n;
    this.counts.set(key, entry);
    return this;
  }

  /** Counts one `sent` outcome and remembers its publish → ack latency. */
  acked(method: DeliveryMethod, publishToAckMs: number): this {
    this.acks.push({ method, publishToAckMs: Math.max(0, publishToAckMs) });
    return this.count(method, "sent");
  }

  /** How many outcomes of `outcome` (any method) were counted. */
  countOf(outcome: DeliveryOutcome): number {
    let n = 0;
    for (const entry of this.counts.values()) if (entry.outcome === outcome) n += entry.n;
    return n;
  }

  /** Adds another tally's outcomes to this one. */
  add(other: DeliveryTally): this {
    for (const { method, outcome, n } of other.counts.values()) this.count(method, outcome, n);
    this.acks.push(...other.acks);
    return this;
  }

  reportTo(observer: QueueObserver): void {
    for (const { method, outcome, n } of this.counts.values()) observer.deliveryOutcome(method, outcome, n);
    for (const { method, publishToAckMs } of this.acks) observer.deliveryAcked(method, publishToAckMs);
  }
}
