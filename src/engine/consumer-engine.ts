import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { AckCoalescer } from "../app/consume/ack-coalescer.js";
import type { AckOutcome, Delivery, DeliveryService } from "../app/consume/delivery-service.js";
import type { DirectTakers } from "../app/consume/direct-takers.js";
import type { Tracing } from "../app/ports/tracing.js";
import type { Subscription } from "../domain/subscription.js";
import type { BackgroundService } from "./background-service.js";
import { IdlePoller } from "./idle-poller.js";
import { LeaseRegistry } from "./lease-registry.js";
import { serverShuttingDown } from "./shutting-down.js";
import { type StreamLimits, type StreamTuning, streamDeliveries } from "./stream-consumer.js";
import { StreamSlots } from "./stream-slots.js";
import type { Wakeups } from "./wakeups.js";

export interface ConsumerEngineOptions {
  tuning: StreamTuning;
  /**
   * How often a subscription with idle consumers on this instance is probed for work published on
   * other instances or retries coming due, ms (one probe per subscription, however many consumers).
   */
  idlePollMs: number;
  /** Most Subscribe streams open at once on this instance. */
  maxOpenStreams: number;
  /** Most Subscribe streams one principal (API key, or the admin tokens together) may hold open. */
  maxStreamsPerPrincipal: number;
  /** Told about database errors a stream rides out. */
  onStreamError?: (error: unknown) => void;
  /** Where waiting streams offer their room to local publishes (deliveries from the commit). */
  takers?: DirectTakers;
  /** Coalesced acks' spans go under the call that is traced (tracing on). */
  tracing?: Tracing;
}

/**
 * The pull side of the delivery engine on one instance: Subscribe streams, Pull with waiting, and
 * the ack paths that free flow-control room and wake consumers. Stop ends every stream (UNAVAILABLE)
 * after giving its leases back.
 */
export class ConsumerEngine implements BackgroundService {
  private readonly registry = new LeaseRegistry();
  /** Concurrent Acknowledge calls of one subscription share a transaction. */
  private readonly acks: AckCoalescer;
  private readonly stopController = new AbortController();
  private readonly openStreams = new Set<Promise<void>>();
  private readonly slots: StreamSlots;
  readonly idle: IdlePoller;
  /** Identifies this instance's leases in the database (diagnostics only). */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;

  constructor(
    private readonly deliveries: DeliveryService,
    readonly wakeups: Wakeups,
    private readonly options: ConsumerEngineOptions,
  ) {
    this.acks = new AckCoalescer(
      (subscription, ackIds) => deliveries.acknowledge(subscription, ackIds),
      undefined,
      options.tracing,
    );
    this.slots = new StreamSlots(options.maxOpenStreams, options.maxStreamsPerPrincipal);
    this.idle = new IdlePoller({
      probe: (subscription) => deliveries.nextClaimableAtMs(subscription),
      wakeups,
      pollMs: options.idlePollMs,
      // No error reporting: during an outage a failed probe only means "try again next round",
      // and the streams themselves report the outage once they claim.
    });
  }

  get openStreamCount(): number {
    return this.openStreams.size;
  }

  /**
   * The stream of batches for one Subscribe call; ends when `clientSignal` aborts or the engine
   * stops. `principal` names who holds the stream, for the per-principal cap (undefined: no cap
   * beyond the instance's).
   */
  async *subscribe(
    subscription: Subscription,
    limits: StreamLimits,
    clientSignal: AbortSignal,
    principal?: string,
  ): AsyncGenerator<Delivery[]> {
    if (this.stopController.signal.aborted) throw serverShuttingDown();
    const release = this.slots.take(principal);
    let finished!: () => void;
    const done = new Promise<void>((resolve) => {
      finished = resolve;
    });
    this.openStreams.add(done);
    try {
      yield* streamDeliveries(subscription, limits, clientSignal, {
        deliveries: this.deliveries,
        wakeups: this.wakeups,
        idle: this.idle,
        registry: this.registry,
        owner: this.owner,
        tuning: this.options.tuning,
        stopSignal: this.stopController.signal,
        ...(this.options.onStreamError ? { onError: this.options.onStreamError } : {}),
        ...(this.options.takers ? { takers: this.options.takers } : {}),
      });
    } finally {
      release();
      this.openStreams.delete(done);
      finished();
    }
  }

  /**
   * Unary Pull: what is available now (at most `maxMessages` and the per-claim byte cap, one larger
   * message alone), waiting up to `maxWaitMs` for the first message.
   */
  async pull(
    subscription: Subscription,
    maxMessages: number,
    maxWaitMs: number,
    signal: AbortSignal,
  ): Promise<Delivery[]> {
    const deadline = Date.now() + maxWaitMs;
    const waitSignal = AbortSignal.any([signal, this.stopController.signal]);
    for (;;) {
      const mark = this.wakeups.mark(subscription.id, subscription.topicId);
      const batch = await this.deliveries.claim(subscription, {
        owner: this.owner,
        method: "pull",
        max: maxMessages,
        leaseMs: subscription.ackDeadlineSeconds * 1000,
        // Bytes: the service's per-claim cap (HERALD_MAX_RESPONSE_BYTES), the same one push claims get.
      });
      const remainingMs = deadline - Date.now();
      if (batch.length > 0 || remainingMs <= 0 || waitSignal.aborted) return batch;
      await this.idle.waitForWork(subscription, waitSignal, mark, remainingMs);
    }
  }

  async acknowledge(subscription: Subscription, ackIds: readonly string[]): Promise<AckOutcome> {
    const outcome = await this.acks.acknowledge(subscription, ackIds);
    this.registry.settled(outcome.settled);
    // On an ordered subscription an ack releases the next message of its key.
    if (subscription.enableOrdering && outcome.settled.length > 0)
      this.wakeups.notifySubscription(subscription.id);
    return outcome;
  }

  async modifyAckDeadline(
    subscription: Subscription,
    ackIds: readonly string[],
    seconds: number,
  ): Promise<AckOutcome> {
    const outcome = await this.deliveries.modifyAckDeadline(subscription, ackIds, seconds);
    this.registry.settled(outcome.settled);
    if (outcome.settled.length > 0) {
      // A nack with no backoff configured makes the message available at once; one with a backoff
      // becomes due later, and the idle probe, asked to look again now, sleeps until exactly then.
      this.wakeups.notifySubscription(subscription.id);
      this.idle.recheck(subscription.id);
    }
    return outcome;
  }

  /** Dead-letters the deliveries at once (reason REJECTED); see DeliveryService.reject. */
  async reject(subscription: Subscription, ackIds: readonly string[], reason: string): Promise<AckOutcome> {
    const outcome = await this.deliveries.reject(subscription, ackIds, reason);
    this.registry.settled(outcome.settled);
    // On an ordered subscription the rejected message no longer holds back the next of its key.
    if (subscription.enableOrdering && outcome.settled.length > 0)
      this.wakeups.notifySubscription(subscription.id);
    return outcome;
  }

  /**
   * Nothing to begin: streams and pulls are served from construction, and the idle probes run only
   * while consumers wait. Here so the composition root starts and stops every service alike.
   */
  start(): void {}

  /** Ends every stream (each gives its leases back) and waits for them to finish. Idempotent. */
  async stop(): Promise<void> {
    this.stopController.abort();
    this.idle.stop();
    await Promise.all([...this.openStreams]);
  }
}
