import type { Subscription } from "../../domain/subscription.js";
import { noTracing, type TraceScope, type Tracing } from "../ports/tracing.js";
import { encodeAckId } from "./ack-id.js";
import type { AckOutcome } from "./delivery-service.js";

type AckFn = (subscription: Subscription, ackIds: readonly string[]) => Promise<AckOutcome>;

interface Waiting {
  ackIds: readonly string[];
  resolve: (outcome: AckOutcome) => void;
  reject: (error: unknown) => void;
  /** The caller's span (tracing on). */
  scope: TraceScope | undefined;
}

/**
 * Group commit for acks: while one Acknowledge transaction of a subscription is running, the acks
 * that arrive meanwhile wait and then go together in the next one. An idle subscription's ack
 * runs at once (no added latency); a busy one pays one transaction per batch instead of per call.
 * Each caller gets back only its own invalid ack ids and settled leases.
 */
export class AckCoalescer {
  private readonly queues = new Map<bigint, Waiting[]>();

  constructor(
    private readonly ack: AckFn,
    private readonly maxIdsPerBatch = 10_000,
    private readonly tracing: Tracing = noTracing,
  ) {}

  acknowledge(subscription: Subscription, ackIds: readonly string[]): Promise<AckOutcome> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(subscription.id);
      const waiting = { ackIds, resolve, reject, scope: this.tracing.capture() };
      if (queue) {
        queue.push(waiting);
        return;
      }
      this.queues.set(subscription.id, [waiting]);
      void this.drain(subscription);
    });
  }

  private async drain(subscription: Subscription): Promise<void> {
    const queue = this.queues.get(subscription.id) as Waiting[];
    while (queue.length > 0) {
      const batch: Waiting[] = [];
      let ids = 0;
      while (
        queue.length > 0 &&
        (batch.length === 0 || ids + (queue[0] as Waiting).ackIds.length <= this.maxIdsPerBatch)
      ) {
        const next = queue.shift() as Waiting;
        batch.push(next);
        ids += next.ackIds.length;
      }
      try {
        // The shared transaction's spans go under its first traced call, not whichever call
        // happened to start this loop.
        const scope = batch.find((w) => w.scope)?.scope;
        const outcome = await this.tracing.resume(scope, () =>
          this.ack(
            subscription,
            batch.flatMap((w) => w.ackIds),
          ),
        );
        const invalid = new Set(outcome.invalidAckIds);
        const settledByAckId = new Map(outcome.settled.map((ref) => [encodeAckId(ref), ref]));
        for (const w of batch) {
          w.resolve({
            invalidAckIds: w.ackIds.filter((id) => invalid.has(id)),
            settled: w.ackIds.flatMap((id) => settledByAckId.get(id) ?? []),
          });
        }
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.queues.delete(subscription.id);
  }
}
