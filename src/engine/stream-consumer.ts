import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { AckRef } from "../app/consume/ack-id.js";
import type { ClaimResult, Delivery, DeliveryService } from "../app/consume/delivery-service.js";
import type { DirectTaker, DirectTakers, Room } from "../app/consume/direct-takers.js";
import type { Subscription } from "../domain/subscription.js";
import type { IdlePoller } from "./idle-poller.js";
import type { LeaseRegistry } from "./lease-registry.js";
import { serverShuttingDown } from "./shutting-down.js";
import type { WaitHandle, WakeupMark, Wakeups } from "./wakeups.js";

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
  /** Most message bytes claimed per transaction (one larger message may travel alone). */
  claimMaxBytes: number;
  /** How often outstanding deliveries are checked against the database (acks on other instances). */
  leaseCheckMs: number;
}

export interface StreamDeps {
  deliveries: DeliveryService;
  wakeups: Wakeups;
  /** Where an idle stream waits for work (one shared probe per subscription, not one per stream). */
  idle: IdlePoller;
  registry: LeaseRegistry;
  owner: string;
  tuning: StreamTuning;
  /** Aborted when the server shuts down. */
  stopSignal: AbortSignal;
  /** Told about database errors the stream rides out (it stays open and retries). */
  onError?: (error: unknown) => void;
  /**
   * Where a waiting stream of an unordered subscription offers its room to local publishes, which
   * then hand it deliveries straight from their commit. Absent: the stream only claims.
   */
  takers?: DirectTakers;
}

const ERROR_BACKOFF_MIN_MS = 250;
const ERROR_BACKOFF_MAX_MS = 5_000;

interface Outstanding {
  ref: AckRef;
  sizeBytes: number;
}

/**
 * One Subscribe stream: claims batches within its flow-control limits, yields them, and keeps
 * track of what is outstanding. Every claim is bounded by the room left (messages and bytes), so
 * nothing is claimed that the stream cannot send; when the next message does not fit, the stream
 * waits for an ack, a nack or a lost lease to free room, and it never yields an empty batch. When
 * the client goes away its leases are released for redelivery at once (or left to expire, with
 * `keepLeasesWhenClientGoes`); on server shutdown they are given back uncounted and the stream
 * ends with UNAVAILABLE. While it waits for work, it is also a direct taker: a local publish may
 * lease its new rows for the stream in its own transaction and hand them over after the commit;
 * the room it promised counts as outstanding until then.
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
  /** Size of the next ready message that did not fit the bytes left; no claim until it fits. */
  let waitingForBytes: number | undefined;
  /** Room promised to publishes committing now, and deliveries they handed over not yet sent. */
  const promised: Room = { messages: 0, bytes: 0 };
  const inbox: Delivery[] = [];
  let wakeForInbox: (() => void) | undefined;
  let hasEnded = false;
  /** Taken before the last claim: a wait after a hand-off still wakes for what came since. */
  let lastMark: WakeupMark | undefined;

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
  const track = (delivery: Delivery) => {
    outstanding.set(delivery.ref.queueId, { ref: delivery.ref, sizeBytes: delivery.sizeBytes });
    outstandingBytes += delivery.sizeBytes;
    registry.track(delivery.ref, onSettled);
  };
  const taker: DirectTaker = {
    subscriptionId: subscription.id,
    topicId: subscription.topicId,
    owner: deps.owner,
    leaseMs: limits.leaseMs,
    room: () => ({
      messages: Math.min(
        limits.maxOutstandingMessages - outstanding.size - promised.messages,
        tuning.claimBatchMax,
      ),
      bytes: Math.min(limits.maxOutstandingBytes - outstandingBytes - promised.bytes, tuning.claimMaxBytes),
    }),
    promise: (room) => {
      promised.messages += room.messages;
      promised.bytes += room.bytes;
    },
    settle: (room, handed) => {
      promised.messages -= room.messages;
      promised.bytes -= room.bytes;
      if (hasEnded) return handed.length === 0;
      for (const delivery of handed) track(delivery);
      inbox.push(...handed);
      wakeForInbox?.();
      wakeCapacity?.();
      return true;
    },
  };
  /** Waits for work; meanwhile (unordered subscriptions) local publishes may hand deliveries over. */
  const waitForWork = async (since: WakeupMark | undefined) => {
    if (!deps.takers || subscription.enableOrdering) {
      await deps.idle.waitForWork(subscription, signal, since);
      return;
    }
    // A handle, not a combined AbortSignal: one of those per wait piles listeners on `signal`.
    const handle: WaitHandle = {};
    wakeForInbox = () => handle.wake?.();
    const unregister = deps.takers.register(taker);
    try {
      await deps.idle.waitForWork(subscription, signal, since, undefined, handle);
    } finally {
      unregister();
      wakeForInbox = undefined;
    }
  };
  const waitForCapacity = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        wakeCapacity = undefined;
        resolve();
      };
      // Until the next lease check is due: acks handled by other instances free room too.
      const timer = setTimeout(done, Math.max(1, lastLeaseCheckMs + tuning.leaseCheckMs - Date.now()));
      signal.addEventListener("abort", done, { once: true });
      wakeCapacity = done;
    });
  const pauseAfterError = async (error: unknown) => {
    deps.onError?.(error);
    await wakeups.wait(subscription.id, subscription.topicId, errorBackoffMs, signal);
    errorBackoffMs = Math.min(errorBackoffMs * 2, ERROR_BACKOFF_MAX_MS);
  };

  let finishedNormally = false;
  let errorBackoffMs = ERROR_BACKOFF_MIN_MS;
  try {
    while (!signal.aborted) {
      // Every round gives the event loop a turn: with SQLite every await below can complete
      // without one, and a loop of them would starve every other call.
      await yieldToEventLoop();
      if (signal.aborted) break;
      if (inbox.length > 0) {
        yield await deliveries.handedOver(subscription, inbox.splice(0));
        // The publish that handed these over leased all it had for this subscription: claiming
        // now would find nothing, unless something else came since the last claim (the mark).
        if (inbox.length === 0) await waitForWork(lastMark);
        continue;
      }
      try {
        if (outstanding.size > 0 && Date.now() - lastLeaseCheckMs >= tuning.leaseCheckMs) await checkLeases();
      } catch (error) {
        // The database is unreachable: keep the stream open and try again after a pause; the
        // client keeps what it has and more arrives once the database answers again.
        await pauseAfterError(error);
        continue;
      }
      const freeMessages = limits.maxOutstandingMessages - outstanding.size - promised.messages;
      const freeBytes = limits.maxOutstandingBytes - outstandingBytes - promised.bytes;
      // Room promised to a publish committing now is as good as held.
      const holdsNothing = outstanding.size === 0 && promised.messages === 0;
      // Refill in batches: claiming each time one ack frees room would spend a transaction per message.
      const worthClaiming = holdsNothing ? 1 : Math.max(1, Math.floor(limits.maxOutstandingMessages / 4));
      const bytesFit = holdsNothing || (freeBytes > 0 && freeBytes >= (waitingForBytes ?? 0));
      if (freeMessages < Math.min(worthClaiming, tuning.claimBatchMax) || !bytesFit) {
        await waitForCapacity();
        continue;
      }
      // Taken before the claim: a publish committing while the claim runs must still wake us.
      const mark = wakeups.mark(subscription.id, subscription.topicId);
      lastMark = mark;
      const max = Math.min(freeMessages, tuning.claimBatchMax);
      let claimed: ClaimResult;
      try {
        claimed = await deliveries.claimWithin(subscription, {
          owner: deps.owner,
          method: "grpc",
          max,
          leaseMs: limits.leaseMs,
          maxBytes: Math.min(freeBytes, tuning.claimMaxBytes),
          // A message larger than the bytes left may go only when the stream holds nothing, or a
          // large message could never be delivered.
          firstMaxBytes: holdsNothing ? Number.POSITIVE_INFINITY : freeBytes,
        });
      } catch (error) {
        await pauseAfterError(error);
        continue;
      }
      errorBackoffMs = ERROR_BACKOFF_MIN_MS;
      const batch = claimed.deliveries;
      const heldBack = claimed.heldBackSizeBytes;
      for (const delivery of batch) track(delivery);
      // The next message did not fit the room left: wait until it does (an ack, a nack or a lost
      // lease frees room). If it only exceeded the per-claim byte cap, claim again at once.
      waitingForBytes =
        heldBack !== undefined && heldBack > limits.maxOutstandingBytes - outstandingBytes
          ? heldBack
          : undefined;
      if (batch.length > 0) yield batch;
      if (heldBack !== undefined) continue;
      // A claim that came back short took everything ready at the time. Claiming again at once
      // would be an empty transaction per wakeup; wait for a notification (a local publish or
      // nack, or the shared probe finding work published elsewhere or a retry coming due).
      if (batch.length < max && inbox.length === 0) await waitForWork(mark);
    }
    finishedNormally = true;
  } finally {
    // Hand-offs settling from now on are refused: their publisher gives the leases back.
    hasEnded = true;
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
    throw serverShuttingDown();
  }
}
