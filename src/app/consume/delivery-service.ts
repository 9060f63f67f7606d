import { validateAckDeadlineExtension } from "../../domain/ack-deadline.js";
import type { Clock } from "../../domain/clock.js";
import type { Message } from "../../domain/message.js";
import type { DeliveryMethod } from "../../domain/notification-log.js";
import { claim as claimItem, deliveryAttempt, holdsLease, type QueueItem } from "../../domain/queue-item.js";
import type { Subscription } from "../../domain/subscription.js";
import { DeliveryTally, ignoreQueueEvents, type QueueObserver } from "../ports/queue-observer.js";
import type { Repositories, Store } from "../ports/store.js";
import { noTracing, type Tracing } from "../ports/tracing.js";
import { type AckRef, decodeAckId, encodeAckId } from "./ack-id.js";
import { recordFailedAttempts } from "./attempt-failures.js";
import { takeWithinBudget } from "./claim-budget.js";
import { lockCurrentLeases } from "./current-leases.js";

/** One delivery of a message to a consumer. */
export interface Delivery {
  ref: AckRef;
  ackId: string;
  /** 1 on the first delivery, plus one per nack or deadline expiry. */
  deliveryAttempt: number;
  message: Message;
  /** Payload plus attribute bytes, for flow control. */
  sizeBytes: number;
}

/** The delivery of `message` under the lease `ref`, with its ack id. */
export function deliveryOf(ref: AckRef, attempt: number, message: Message, sizeBytes: number): Delivery {
  return { ref, ackId: encodeAckId(ref), deliveryAttempt: attempt, message, sizeBytes };
}

export interface ClaimOptions {
  /** Lease holder, for diagnostics (instance and stream). */
  owner: string;
  method: DeliveryMethod;
  max: number;
  leaseMs: number;
  /**
   * Most bytes (message sizes) to claim, further capped by the service's `maxClaimBytes`; one
   * message may exceed it alone, up to `firstMaxBytes` (default: any size).
   */
  maxBytes?: number;
  firstMaxBytes?: number;
}

/** What one claim leased, and whether it stopped because the next message did not fit its bytes. */
export interface ClaimResult {
  deliveries: Delivery[];
  /** Size of the next ready message, left pending because it did not fit; undefined when none was. */
  heldBackSizeBytes: number | undefined;
}

export interface DeliveryLimits {
  /**
   * Most message bytes one claim loads (a Pull response, a stream batch, a push batch), except one
   * larger message alone.
   */
  maxClaimBytes: number;
}

/** What happened to each ack id of an Acknowledge or ModifyAckDeadline call. */
export interface AckOutcome {
  /** Ack ids that were unknown, forged, of another subscription, or whose lease was lost. */
  invalidAckIds: string[];
  /** Rows whose lease ended with this call (acked, nacked): their streams may take more. */
  settled: AckRef[];
}

/** Default of HERALD_MAX_RESPONSE_BYTES: gRPC clients' usual 4 MiB receive limit. */
export const DEFAULT_MAX_CLAIM_BYTES = 4 * 1024 * 1024;

/**
 * The pull-delivery use cases over the shared queue: claim with a lease, ack, extend or nack
 * (ModifyAckDeadline), and give leases back when a stream ends. Leases live in the database, so
 * any instance can take an ack for a delivery made by another.
 */
export class DeliveryService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
    private readonly observer: QueueObserver = ignoreQueueEvents,
    private readonly limits: DeliveryLimits = { maxClaimBytes: DEFAULT_MAX_CLAIM_BYTES },
    private readonly tracing: Tracing = noTracing,
  ) {}

  /** Leases ready messages of the subscription, bounded by count and bytes (see ClaimOptions). */
  async claim(subscription: Subscription, options: ClaimOptions): Promise<Delivery[]> {
    return (await this.claimWithin(subscription, options)).deliveries;
  }

  /**
   * Like `claim`, and says whether a ready message was left for lack of bytes. Only what fits is
   * leased, so nothing is claimed and given back, and message bodies are loaded only for it.
   */
  async claimWithin(subscription: Subscription, options: ClaimOptions): Promise<ClaimResult> {
    // A stream batch or a Pull is a delivery span under its RPC (push attempts trace themselves).
    if (!this.tracing.isEnabled || options.method === "webhook")
      return this.claimUntraced(subscription, options);
    return this.tracing.deliver(
      options.method === "grpc" ? "stream" : "pull",
      subscription.name,
      () => this.claimUntraced(subscription, options),
      (result) => result.deliveries.map((d) => d.message),
    );
  }

  /**
   * Deliveries a local publish handed to a stream (see direct-handoff.ts): with tracing on, they
   * are a stream delivery span like a claim's, under the stream's RPC, linked to their publishers.
   */
  async handedOver(subscription: Subscription, deliveries: Delivery[]): Promise<Delivery[]> {
    if (!this.tracing.isEnabled) return deliveries;
    return this.tracing.deliver(
      "stream",
      subscription.name,
      async () => deliveries,
      (handed) => handed.map((d) => d.message),
    );
  }

  private async claimUntraced(subscription: Subscription, options: ClaimOptions): Promise<ClaimResult> {
    if (options.max <= 0) return { deliveries: [], heldBackSizeBytes: undefined };
    const maxBytes = Math.min(options.maxBytes ?? Number.POSITIVE_INFINITY, this.limits.maxClaimBytes);
    const budget = { maxBytes, firstMaxBytes: options.firstMaxBytes ?? Number.POSITIVE_INFINITY };
    const startedMs = performance.now();
    const { taken: claimed, heldBackSizeBytes } = await this.store.transaction(async (repos) => {
      const nowMs = this.clock.nowMs();
      const candidates = await repos.deliveries.lockClaimable({
        subscriptionId: subscription.id,
        ordered: subscription.enableOrdering,
        limit: options.max,
        nowMs,
      });
      const { taken, heldBackSizeBytes } = takeWithinBudget(candidates, budget);
      const grant = {
        owner: options.owner,
        method: options.method,
        leaseExpiresAtMs: nowMs + options.leaseMs,
      };
      await repos.deliveries.markLeased(
        taken.map((r) => r.id),
        grant,
        nowMs,
      );
      // What the write above made of each item: the lease its ack id names.
      const leased = taken.map((r) => ({
        item: claimItem(r, grant, nowMs),
        sizeBytes: r.sizeBytes,
        attempt: deliveryAttempt(r),
      }));
      return { taken: leased, heldBackSizeBytes };
    });
    this.observer.claimFinished(performance.now() - startedMs);
    if (claimed.length === 0) return { deliveries: [], heldBackSizeBytes };
    const messages = await this.store.repos.messages.findMany(claimed.map((c) => c.item.messageId));
    const deliveries = claimed.map(({ item, sizeBytes, attempt }) => {
      const message = messages.get(item.messageId);
      if (!message) throw new Error(`queue item ${item.id} names missing message ${item.messageId}`);
      // The size the claim budgeted with, so a stream's accounting matches what it claimed.
      return deliveryOf({ queueId: item.id, leaseToken: item.leaseToken }, attempt, message, sizeBytes);
    });
    return { deliveries, heldBackSizeBytes };
  }

  /**
   * When the subscription's next message becomes claimable (epoch ms; in the past when one is
   * ready now), or undefined when it has none: what the idle poller waits for.
   */
  async nextClaimableAtMs(subscription: Subscription): Promise<number | undefined> {
    // The idle probe serves every waiting consumer of the subscription: it belongs to no call's trace.
    return this.tracing.resume(undefined, () =>
      this.store.repos.deliveries.nextClaimableAtMs(
        subscription.id,
        subscription.enableOrdering,
        this.clock.nowMs(),
      ),
    );
  }

  /** Acks each valid ack id's delivery; acking an already-acked delivery again is harmless. */
  async acknowledge(subscription: Subscription, ackIds: readonly string[]): Promise<AckOutcome> {
    return this.withLeases(subscription, ackIds, true, async (repos, leased, tally) => {
      const nowMs = this.clock.nowMs();
      // Under the row locks every current lease wins; the fence keeps the write honest regardless.
      const won = new Set(
        await repos.deliveries.markSentIfLeased(
          leased.map((r) => ({ queueId: r.id, leaseToken: r.leaseToken })),
          nowMs,
        ),
      );
      const acked = leased.filter((r) => won.has(r.id));
      for (const r of acked) tally.acked(r.deliveryMethod ?? "pull", nowMs - r.createdAtMs);
      await repos.notificationLogs.insertForQueueItems(
        acked.map((r) => ({ queueId: r.id, status: "sent" as const })),
        { topicCode: subscription.topicCode, defaultMethod: "pull" },
        nowMs,
      );
      return true;
    });
  }

  /** Extends leases to `seconds` from now; 0 is a nack (retry after the subscription's backoff). */
  async modifyAckDeadline(
    subscription: Subscription,
    ackIds: readonly string[],
    seconds: number,
  ): Promise<AckOutcome> {
    validateAckDeadlineExtension("ack_deadline_seconds", seconds);
    return this.withLeases(subscription, ackIds, false, async (repos, leased, tally) => {
      if (seconds > 0) {
        const nowMs = this.clock.nowMs();
        await repos.deliveries.extendLeasesIfLeased(
          leased.map((r) => ({ queueId: r.id, leaseToken: r.leaseToken })),
          nowMs + seconds * 1000,
          nowMs,
        );
        return false;
      }
      const failures = leased.map((item) => ({ item, error: "nack", kind: { kind: "backoff" } as const }));
      tally.add(await recordFailedAttempts(repos, subscription, failures, this.clock, this.random));
      return true;
    });
  }

  /**
   * Reject, a terminal nack: each valid ack id's delivery is dead-lettered at once with reason
   * REJECTED and `reason` as its last error (validated by the caller), attempts left or not.
   */
  async reject(subscription: Subscription, ackIds: readonly string[], reason: string): Promise<AckOutcome> {
    return this.withLeases(subscription, ackIds, false, async (repos, leased, tally) => {
      const failures = leased.map((item) => ({ item, error: reason, kind: { kind: "rejected" } as const }));
      tally.add(await recordFailedAttempts(repos, subscription, failures, this.clock, this.random));
      return true;
    });
  }

  /**
   * Ends the leases a closed stream still held. A client that went away counts as a failed attempt
   * retried at once (a consumer crashing on a poison message must still reach the DLQ); a server
   * shutdown is not the consumer's fault and gives the messages back uncounted.
   */
  async release(
    subscription: Subscription,
    refs: readonly AckRef[],
    cause: "client_gone" | "shutdown",
  ): Promise<void> {
    if (refs.length === 0) return;
    const tally = await this.store.transaction(async (repos) => {
      const leased = await lockCurrentLeases(repos, subscription.id, refs);
      if (cause === "shutdown") {
        await repos.deliveries.releaseIfLeased(
          leased.map((r) => ({ queueId: r.id, leaseToken: r.leaseToken })),
          this.clock.nowMs(),
        );
        return new DeliveryTally();
      }
      const failures = leased.map((item) => ({
        item,
        error: "stream closed before ack",
        kind: { kind: "immediate" } as const,
      }));
      return recordFailedAttempts(repos, subscription, failures, this.clock);
    });
    tally.reportTo(this.observer);
  }

  /** Gives back claimed-but-undelivered leases without counting an attempt (flow-control overflow). */
  async unclaim(refs: readonly AckRef[]): Promise<void> {
    if (refs.length === 0) return;
    await this.store.repos.deliveries.releaseIfLeased(refs, this.clock.nowMs());
  }

  /** The refs whose delivery is still leased (not acked, nacked, expired or redelivered). */
  async stillLeased(refs: readonly AckRef[]): Promise<AckRef[]> {
    const states = await this.store.repos.deliveries.findLeaseStates(refs.map((r) => r.queueId));
    const current = new Map(states.map((s) => [s.id, s]));
    return refs.filter((ref) => {
      const state = current.get(ref.queueId);
      return state !== undefined && holdsLease(state, ref);
    });
  }

  /**
   * Locks the rows the ack ids name, splits valid from invalid, and runs `apply` on the leased
   * ones in the same transaction. `apply` returns whether the leases ended (acked or nacked).
   */
  private async withLeases(
    subscription: Subscription,
    ackIds: readonly string[],
    alreadySentIsValid: boolean,
    apply: (repos: Repositories, leased: QueueItem[], tally: DeliveryTally) => Promise<boolean>,
  ): Promise<AckOutcome> {
    const invalidAckIds: string[] = [];
    const refs = new Map<string, AckRef>();
    for (const ackId of ackIds) {
      const ref = decodeAckId(ackId);
      if (ref) refs.set(ackId, ref);
      else invalidAckIds.push(ackId);
    }
    if (refs.size === 0) return { invalidAckIds, settled: [] };
    const { tally, ...outcome } = await this.store.transaction(async (repos) => {
      const rows = await repos.deliveries.lockByIds(subscription.id, [
        ...new Set([...refs.values()].map((r) => r.queueId)),
      ]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      const leased = new Map<bigint, QueueItem>();
      const invalid = [...invalidAckIds];
      for (const [ackId, ref] of refs) {
        const row = byId.get(ref.queueId);
        if (row !== undefined && holdsLease(row, ref)) leased.set(row.id, row);
        else if (!(alreadySentIsValid && row?.status === "sent" && row.leaseToken === ref.leaseToken)) {
          // An ack of a delivery already acked under the same lease is harmless; all else is invalid.
          invalid.push(ackId);
        }
      }
      const tally = new DeliveryTally();
      const ended = leased.size > 0 ? await apply(repos, [...leased.values()], tally) : false;
      const settled = ended
        ? [...leased.values()].map((r) => ({ queueId: r.id, leaseToken: r.leaseToken }))
        : [];
      return { invalidAckIds: invalid, settled, tally };
    });
    tally.reportTo(this.observer);
    return outcome;
  }
}
