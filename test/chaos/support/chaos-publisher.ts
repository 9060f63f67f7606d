/**
 * Publishes a known set of unique chaos ids (the message data, also the dedup_id) through whichever
 * instance is alive, retrying a failed batch with the same dedup_ids until one answer is OK — the
 * retry rule Herald documents for UNAVAILABLE. Only ids whose Publish returned OK count as published.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { text } from "../../support/fixtures.js";
import type { ChaosCluster } from "./chaos-cluster.js";
import type { OrderSlot } from "./delivery-ledger.js";

export interface OutgoingChaosMessage {
  id: string;
  orderingKey?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long one Publish call may take before the client gives up (a hang shows as DEADLINE_EXCEEDED). */
const CALL_TIMEOUT_MS = 30_000;

export class ChaosPublisher {
  /** chaos id → Herald message id, for every id whose Publish returned OK. */
  readonly published = new Map<string, string>();
  /** Publish order of ordered messages: key and position within the key. */
  readonly order = new Map<string, OrderSlot>();
  /** Failed Publish attempts by gRPC code name. */
  readonly failures = new Map<string, number>();
  /** A few failure messages per code, for the report. */
  readonly failureSamples = new Map<string, string>();
  /** Ids whose batch never got an OK within the retry time (not counted as published). */
  readonly abandoned: string[] = [];
  calls = 0;
  /** Longest a failed call took, ms (bounded failure is part of the contract). */
  slowestFailureMs = 0;
  /** Time of every successful and failed call, for recovery measurements. */
  readonly successTimesMs: number[] = [];
  readonly failureTimesMs: number[] = [];
  private readonly nextSeq = new Map<string, number>();

  constructor(
    private readonly cluster: ChaosCluster,
    readonly publisher: string,
    readonly topic: string,
  ) {}

  /** Assigns the next position of `key` to `id` (call in publish order, before publishing). */
  reserveOrder(id: string, key: string): void {
    const seq = this.nextSeq.get(key) ?? 0;
    this.nextSeq.set(key, seq + 1);
    this.order.set(id, { key, seq });
  }

  /**
   * Publishes `messages` in one request, retrying through any live instance for up to `retryForMs`.
   * Resolves true once OK, false when it gave up (the ids are then recorded as abandoned).
   */
  async publish(messages: readonly OutgoingChaosMessage[], retryForMs = 120_000): Promise<boolean> {
    const started = Date.now();
    const request = {
      publisher: this.publisher,
      topic: this.topic,
      messages: messages.map((m) => ({ data: text(m.id), dedupId: m.id, orderingKey: m.orderingKey ?? "" })),
    };
    for (let attempt = 0; ; attempt++) {
      const node = await this.cluster.pick();
      const callStarted = Date.now();
      this.calls += 1;
      try {
        const { messageIds } = await node.clients.publisher.publish(request, { timeoutMs: CALL_TIMEOUT_MS });
        this.successTimesMs.push(Date.now());
        for (const [i, m] of messages.entries()) this.published.set(m.id, String(messageIds[i]));
        return true;
      } catch (error) {
        const e = ConnectError.from(error);
        const name = Code[e.code] ?? String(e.code);
        this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
        if (!this.failureSamples.has(name)) this.failureSamples.set(name, e.rawMessage.slice(0, 160));
        this.failureTimesMs.push(Date.now());
        this.slowestFailureMs = Math.max(this.slowestFailureMs, Date.now() - callStarted);
        if (Date.now() - started > retryForMs) {
          this.abandoned.push(...messages.map((m) => m.id));
          return false;
        }
        await sleep(Math.min(1_000, 50 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /**
   * Publishes `ids` in batches of `batchSize`, spread evenly over `durationMs` (0: as fast as
   * `concurrency` loops go). `orderingKeyOf` gives each message's key (ordered messages of one key
   * must go through one loop: keys are assigned to loops by the caller's key choice and batch split).
   */
  async publishPaced(
    ids: readonly string[],
    options: { batchSize: number; durationMs: number; concurrency?: number; shouldStop?: () => boolean },
  ): Promise<void> {
    const batches: string[][] = [];
    for (let i = 0; i < ids.length; i += options.batchSize) batches.push(ids.slice(i, i + options.batchSize));
    const concurrency = options.concurrency ?? 1;
    const started = Date.now();
    const gapMs = batches.length > 0 ? options.durationMs / batches.length : 0;
    let next = 0;
    const loop = async () => {
      for (;;) {
        if (options.shouldStop?.()) return;
        const index = next++;
        const batch = batches[index];
        if (!batch) return;
        const dueMs = started + index * gapMs;
        if (dueMs > Date.now()) await sleep(dueMs - Date.now());
        await this.publish(batch.map((id) => ({ id })));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
  }

  /**
   * Publishes fresh ids `<prefix>-<n>` at `ratePerSecond` (in batches of `batchSize`, `concurrency`
   * loops) until `isDone()` turns true; resolves with the ids attempted, in order.
   */
  async publishWhile(
    prefix: string,
    options: { ratePerSecond: number; batchSize: number; concurrency?: number; isDone: () => boolean },
  ): Promise<string[]> {
    const attempted: string[] = [];
    const started = Date.now();
    const gapMs = (1000 * options.batchSize) / options.ratePerSecond;
    let index = 0;
    const loop = async () => {
      while (!options.isDone()) {
        const i = index++;
        const dueMs = started + i * gapMs;
        if (dueMs > Date.now()) await sleep(dueMs - Date.now());
        const ids = Array.from(
          { length: options.batchSize },
          (_, j) => `${prefix}-${i * options.batchSize + j}`,
        );
        attempted.push(...ids);
        await this.publish(ids.map((id) => ({ id })));
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 1 }, loop));
    return attempted;
  }

  failureSummary(): Record<string, number> {
    return Object.fromEntries(this.failures);
  }
}

/** `count` ids `<prefix>-0` … `<prefix>-<count-1>`. */
export function chaosIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}
