import { Code, ConnectError } from "@connectrpc/connect";
import type { AckRef } from "../app/ack-id.js";
import type { Delivery, DeliveryService } from "../app/delivery-service.js";
import type { Subscription } from "../domain/subscription.js";
import type { LeaseRegistry } from "./lease-registry.js";
import type { Wakeups } from "./wakeups.js";

export interface StreamLimits {
  maxOutstandingMessages: number;
  maxOutstandingBytes: number;
  leaseMs: number;
  /**
   * When the client goes away, leave its leases to expire (Pub/Sub StreamingPull semantics: acks
   * sent after the stream closed, as the official clients do on close(), still count) instead of
   * releasing them for immediate redelivery (Herald's Subscribe).
   */
  keepLeasesWhenClientGoes?: boolean;
}

export interface StreamTuning {
  /** Most messages claimed per transaction. */
  claimBatchMax: number;
  /** First poll interval after an empty claim; doubles up to `pollMaxMs`; local publishes wake at once. */
  pollMinMs: number;
  pollMaxMs: number;
  /** How often outstanding deliveries are checked against the database (acks on other instances). */
  leaseCheckMs: number;
}

export interface StreamDeps {
  deliveries: DeliveryService;
  wakeups: Wakeups;
  registry: LeaseRegistry;
  owner: string;
  tuning: StreamTuning;
  /** Aborted when the server shuts down. */
  stopSignal: AbortSignal;
  /** Told about database errors the stream rides out (it stays open and retries). */
  onError?: (error: unknown) => void;
}

const ERROR_BACKOFF_MIN_MS = 250;
const ERROR_BACKOFF_MAX_MS = 5_000;

interface Outstanding {
  ref: AckRef;
  sizeBytes: number;
}

/**
 * One Subscribe stream: claims batches within its flow-control limits, yields them, and keeps
 * track of what is outstanding. When the client goes away its leases are released for redelivery
 * at once (or left to expire, with `keepLeasesWhenClientGoes`); on server shutdown they are given
 * back uncounted and the stream ends with UNAVAILABLE.
 */
export async function* streamDeliveries(
  subscription: Subscription,
  limits: StreamLimits,
  clientSignal: AbortSignal,
  deps: StreamDeps,
): AsyncGenerator<Delivery[]> {
  const { deliveries, wakeups, registry, tuning } = deps;
  const signal = AbortSignal.any([clientSignal, deps.stopSignal]);
  const outstanding = new Map<bigint, Outstanding>();
  let outstandingBytes = 0;
  let wakeCapacity: (() => void) | undefined;
  let lastLeaseCheckMs = Date.now();
  let pollMs = tuning.pollMinMs;

  const forget = (queueId: bigint) => {
    const entry = outstanding.get(queueId);
    if (!entry) return;
    outstanding.delete(queueId);
    outstandingBytes -= entry.sizeBytes;
    registry.untrack(entry.ref);
  };
  const onSettled = (ref: AckRef) => {
    if (outstanding.get(ref.queueId)?.ref.leaseToken !== ref.leaseToken) return;
    forget(ref.queueId);
    wakeCapacity?.();
  };
  const checkLeases = async () => {
    lastLeaseCheckMs = Date.now();
    const refs = [...outstanding.values()].map((o) => o.ref);
    if (refs.length === 0) return;
    const still = new Set((await deliveries.stillLeased(refs)).map((r) => r.queueId));
    for (const ref of refs) if (!still.has(ref.queueId)) forget(ref.queueId);
  };
  const waitForCapacity = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        wakeCapacity = undefined;
        resolve();
      };
      const timer = setTimeout(done, tuning.leaseCheckMs);
      signal.addEventListener("abort", done, { once: true });
      wakeCapacity = done;
    });

  let finishedNormally = false;
  let errorBackoffMs = ERROR_BACKOFF_MIN_MS;
  try {
    while (!signal.aborted) {
      try {
        if (outstanding.size > 0 && Date.now() - lastLeaseCheckMs >= tuning.leaseCheckMs) await checkLeases();
      } catch (error) {
        // The database is unreachable: keep the stream open and try again after a pause; the
        // client keeps what it has and more arrives once the database answers again.
        deps.onError?.(error);
        await wakeups.wait(subscription.id, subscription.topicId, errorBackoffMs, signal);
        errorBackoffMs = Math.min(errorBackoffMs * 2, ERROR_BACKOFF_MAX_MS);
        continue;
      }
      const freeMessages = limits.maxOutstandingMessages - outstanding.size;
      const freeBytes = limits.maxOutstandingBytes - outstandingBytes;
      // Refill in batches: claiming each time one ack frees room would spend a transaction per message.
      const worthClaiming =
        outstanding.size === 0 ? 1 : Math.max(1, Math.floor(limits.maxOutstandingMessages / 4));
      if (freeMessages < Math.min(worthClaiming, tuning.claimBatchMax) || freeBytes <= 0) {
        await waitForCapacity();
        continue;
      }
      let batch: Delivery[];
      // Taken before the claim: a publish committing while the claim runs must still wake us.
      const mark = wakeups.mark(subscription.id, subscription.topicId);
      const max = Math.min(freeMessages, tuning.claimBatchMax);
      try {
        batch = await deliveries.claim(subscription, {
          owner: deps.owner,
          method: "grpc",
          max,
          leaseMs: limits.leaseMs,
        });
      } catch (error) {
        deps.onError?.(error);
        await wakeups.wait(subscription.id, subscription.topicId, errorBackoffMs, signal);
        errorBackoffMs = Math.min(errorBackoffMs * 2, ERROR_BACKOFF_MAX_MS);
        continue;
      }
      errorBackoffMs = ERROR_BACKOFF_MIN_MS;
      if (batch.length === 0) {
        await wakeups.wait(subscription.id, subscription.topicId, pollMs, signal, mark);
        pollMs = Math.min(pollMs * 2, tuning.pollMaxMs);
        continue;
      }
      pollMs = tuning.pollMinMs;
      // Bytes: keep what fits (at least one message when nothing is outstanding, or a large
      // message could never be delivered) and give the rest back without counting an attempt.
      const keep: Delivery[] = [];
      let bytes = outstandingBytes;
      for (const delivery of batch) {
        const fits = bytes + delivery.sizeBytes <= limits.maxOutstandingBytes;
        if (!fits && !(outstanding.size === 0 && keep.length === 0)) break;
        keep.push(delivery);
        bytes += delivery.sizeBytes;
      }
      const overflow = batch.slice(keep.length).map((d) => d.ref);
      // If this fails the overflow's leases simply expire and the sweeper redelivers them.
      if (overflow.length > 0)
        await deliveries.unclaim(overflow).catch((error: unknown) => deps.onError?.(error));
      for (const delivery of keep) {
        outstanding.set(delivery.ref.queueId, { ref: delivery.ref, sizeBytes: delivery.sizeBytes });
        registry.track(delivery.ref, onSettled);
      }
      outstandingBytes = bytes;
      yield keep;
      // A claim that came back short took everything ready at the time. Claiming again at once
      // would be an empty transaction per wakeup; wait for the next notification instead (or
      // the shortest poll, for work from other instances and retries coming due).
      if (batch.length < max && overflow.length === 0) {
        await wakeups.wait(subscription.id, subscription.topicId, tuning.pollMinMs, signal, mark);
      }
    }
    finishedNormally = true;
  } finally {
    const refs = [...outstanding.values()].map((o) => o.ref);
    for (const ref of refs) registry.untrack(ref);
    const cause = deps.stopSignal.aborted ? "shutdown" : "client_gone";
    if (cause === "shutdown" || !limits.keepLeasesWhenClientGoes) {
      await deliveries.release(subscription, refs, cause).catch(() => {
        // The database may be gone too; the leases then expire and the sweeper redelivers them.
      });
    }
  }
  if (finishedNormally && deps.stopSignal.aborted) {
    throw new ConnectError("server is shutting down; reconnect", Code.Unavailable);
  }
}
