/**
 * Counts what consumers receive and acknowledge for one run: unique ids, duplicates, publish→receive
 * latency samples (bounded), and when the last acknowledgement happened.
 */
import type { ConsumerHandlers, ReceivedBenchMessage } from "./peers/peer.js";

export class DeliveryTracker {
  readonly latenciesMs: number[] = [];
  received = 0;
  acked = 0;
  duplicates = 0;
  /** performance.now() of the last acknowledgement, ms. */
  lastAckAtMs = Number.NaN;
  firstError: unknown;
  private readonly seen = new Set<string>();
  private readonly maxSamples: number;
  private wake: (() => void) | undefined;

  /** Expects `expected` unique ids; keeps at most 2 × expected latency samples. */
  constructor(readonly expected: number) {
    this.maxSamples = expected * 2;
  }

  get uniqueReceived(): number {
    return this.seen.size;
  }

  get isDone(): boolean {
    return this.seen.size >= this.expected && this.acked >= this.received;
  }

  readonly handlers: ConsumerHandlers = {
    onReceived: (batch: readonly ReceivedBenchMessage[], receivedAtMs: number) => {
      for (const m of batch) {
        this.received += 1;
        if (this.seen.has(m.id)) this.duplicates += 1;
        else this.seen.add(m.id);
        if (this.latenciesMs.length < this.maxSamples && Number.isFinite(m.sentAtMs)) {
          this.latenciesMs.push(receivedAtMs - m.sentAtMs);
        }
      }
    },
    onAcked: (count: number) => {
      this.acked += count;
      this.lastAckAtMs = performance.now();
      if (this.isDone) this.wake?.();
    },
    onError: (error: unknown) => {
      this.firstError ??= error;
      this.wake?.();
    },
  };

  /** Resolves true once every expected id was received and acked; false at the deadline or on error. */
  async waitForAll(deadlineMs: number): Promise<boolean> {
    while (!this.isDone && this.firstError === undefined) {
      const remainingMs = deadlineMs - performance.now();
      if (remainingMs <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remainingMs, 250));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.isDone && this.firstError === undefined;
  }
}
