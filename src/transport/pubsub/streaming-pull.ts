import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  type StreamingPullRequest,
  StreamingPullResponse_SubscriptionPropertiesSchema,
  type StreamingPullResponseSchema,
} from "../../../gen/google/pubsub/v1/pubsub_pb.js";
import { authorizeConsume } from "../../app/auth/authorization.js";
import type { SubscriptionLookup } from "../../app/consume/subscription-lookup.js";
import { validateAckDeadline, validateAckDeadlineExtension } from "../../domain/ack-deadline.js";
import { DomainError } from "../../domain/domain-error.js";
import type { Subscription } from "../../domain/subscription.js";
import type { ConsumerEngine } from "../../engine/consumer-engine.js";
import type { StreamLimits } from "../../engine/stream-consumer.js";
import { principalOf } from "../authentication.js";
import { guardStreamAccess, type StreamAccessOptions, streamPrincipalKey } from "../stream-access.js";
import { streamLimits, validateAckIdCount } from "../subscriber-handlers.js";
import { type StreamAckResults, streamConfirmation } from "./ack-confirmations.js";
import { receivedToPubsub } from "./pubsub-conversion.js";
import { parseSubscriptionName } from "./resource-names.js";
import { StreamOutbox } from "./stream-outbox.js";

type StreamingPullResponseInit = MessageInitShape<typeof StreamingPullResponseSchema>;

/** Told about acks or deadline changes that could not be applied (the database was unreachable). */
export type StreamAckErrorReporter = (error: unknown) => void;

function limitsOf(req: StreamingPullRequest): StreamLimits {
  if (req.maxOutstandingMessages < 0n)
    throw DomainError.invalid("max_outstanding_messages", "must not be negative");
  if (req.maxOutstandingBytes < 0n)
    throw DomainError.invalid("max_outstanding_bytes", "must not be negative");
  // 0 means "no limit" in Pub/Sub; Herald keeps its defaults as the ceiling of one stream.
  return {
    ...streamLimits(req.maxOutstandingMessages, req.maxOutstandingBytes, req.streamAckDeadlineSeconds * 1000),
    keepLeasesWhenClientGoes: true,
  };
}

/**
 * Acks and deadline changes that arrive on the stream. Deadline changes are grouped by value,
 * so a client extending many leases at once costs one transaction per distinct deadline. A
 * malformed request throws; a database failure is reported to `onAckError` and recorded in the
 * results (the leases then expire and the messages come again: at-least-once, and on an
 * exactly-once subscription the client is told the ids failed temporarily and retries them).
 */
async function applyAcks(
  engine: ConsumerEngine,
  subscription: Subscription,
  req: StreamingPullRequest,
  limits: StreamLimits,
  onAckError: StreamAckErrorReporter,
): Promise<StreamAckResults> {
  validateAckIdCount("ack_ids", req.ackIds);
  validateAckIdCount("modify_deadline_ack_ids", req.modifyDeadlineAckIds);
  if (req.modifyDeadlineAckIds.length !== req.modifyDeadlineSeconds.length) {
    throw DomainError.invalid(
      "modify_deadline_seconds",
      "must have one entry per modify_deadline_ack_ids entry",
    );
  }
  if (req.streamAckDeadlineSeconds !== 0) {
    validateAckDeadline("stream_ack_deadline_seconds", req.streamAckDeadlineSeconds);
    // Later claims on this stream use the new deadline (the stream reads the limits each claim).
    limits.leaseMs = req.streamAckDeadlineSeconds * 1000;
  }
  const bySeconds = new Map<number, string[]>();
  req.modifyDeadlineAckIds.forEach((ackId, i) => {
    const seconds = req.modifyDeadlineSeconds[i] as number;
    validateAckDeadlineExtension("modify_deadline_seconds", seconds);
    const ids = bySeconds.get(seconds) ?? [];
    ids.push(ackId);
    bySeconds.set(seconds, ids);
  });
  const acks = { ackIds: req.ackIds, invalidAckIds: [] as string[], failed: false };
  const modifies = { ackIds: req.modifyDeadlineAckIds, invalidAckIds: [] as string[], failed: false };
  if (req.ackIds.length > 0) {
    try {
      acks.invalidAckIds = (await engine.acknowledge(subscription, req.ackIds)).invalidAckIds;
    } catch (error) {
      if (error instanceof DomainError) throw error;
      onAckError(error);
      acks.failed = true;
    }
  }
  for (const [seconds, ids] of bySeconds) {
    try {
      modifies.invalidAckIds.push(
        ...(await engine.modifyAckDeadline(subscription, ids, seconds)).invalidAckIds,
      );
    } catch (error) {
      if (error instanceof DomainError) throw error;
      onAckError(error);
      modifies.failed = true;
    }
  }
  return { acks, modifies };
}

/**
 * google.pubsub.v1.Subscriber/StreamingPull: the first request opens the stream (subscription,
 * deadline, flow control); messages flow out while acks, nacks and deadline changes flow in on the
 * same stream. The stream ends when the client half-closes or cancels, or the server stops; what
 * the client still held is released for redelivery.
 */
export function createStreamingPull(
  lookup: SubscriptionLookup,
  engine: ConsumerEngine,
  onAckError: StreamAckErrorReporter,
  access: StreamAccessOptions,
) {
  return async function* streamingPull(
    requests: AsyncIterable<StreamingPullRequest>,
    ctx: HandlerContext,
  ): AsyncGenerator<StreamingPullResponseInit> {
    const iterator = requests[Symbol.asyncIterator]();
    const opening = await iterator.next();
    if (opening.done) return;
    const first = opening.value;
    if (first.subscription === "")
      throw DomainError.invalid("subscription", "is required on the first request");
    validateAckDeadline("stream_ack_deadline_seconds", first.streamAckDeadlineSeconds);
    const { id } = parseSubscriptionName("subscription", first.subscription);
    const subscription = await lookup.require(id, "pull");
    const principal = principalOf(ctx);
    authorizeConsume(principal, subscription);
    const limits = limitsOf(first);
    // Exactly-once: each request's acks and deadline changes are confirmed on the stream.
    const outbox = new StreamOutbox<StreamingPullResponseInit>();
    const confirm = (results: StreamAckResults): Promise<void> => {
      const confirmation = subscription.enableExactlyOnceDelivery ? streamConfirmation(results) : undefined;
      return confirmation ? outbox.put(confirmation) : Promise.resolve();
    };
    // Taken once the stream starts writing; nothing waits for it here.
    void confirm(await applyAcks(engine, subscription, first, limits, onAckError));

    const ended = new AbortController();
    let failure: unknown;
    void (async () => {
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done) break;
          // A malformed request ends the stream with its error.
          await confirm(await applyAcks(engine, subscription, next.value, limits, onAckError));
        }
      } catch (error) {
        if (!ctx.signal.aborted) failure = error;
      } finally {
        ended.abort();
      }
    })();

    // The first response of the stream, batch or confirmation, carries the subscription's properties.
    let isFirst = true;
    const withProperties = (response: StreamingPullResponseInit): StreamingPullResponseInit => {
      if (!isFirst) return response;
      isFirst = false;
      return {
        ...response,
        subscriptionProperties: create(StreamingPullResponse_SubscriptionPropertiesSchema, {
          exactlyOnceDeliveryEnabled: subscription.enableExactlyOnceDelivery,
          messageOrderingEnabled: subscription.enableOrdering,
        }),
      };
    };
    const guard = guardStreamAccess(ctx, id, access);
    const batches = engine
      .subscribe(
        subscription,
        limits,
        AbortSignal.any([ctx.signal, ended.signal, guard.signal]),
        streamPrincipalKey(principal),
      )
      [Symbol.asyncIterator]();
    try {
      let nextBatch = batches.next();
      for (;;) {
        // Confirmations go out between batches, without waiting for the next batch.
        const ready = await Promise.race([nextBatch, outbox.ready().then(() => undefined)]);
        if (ready === undefined) {
          for (let c = outbox.take(); c !== undefined; c = outbox.take()) yield withProperties(c);
          continue;
        }
        if (ready.done) break;
        yield withProperties({ receivedMessages: ready.value.map((d) => receivedToPubsub(subscription, d)) });
        nextBatch = batches.next();
      }
    } finally {
      guard.stop();
      ended.abort();
      outbox.close();
      // The batch generator gives its leases back as it ends (the abort above ends a pending claim).
      await batches.return(undefined);
    }
    // Access was lost (key revoked, subscriber deactivated, subscription deleted): say so.
    if (guard.failure() !== undefined) throw guard.failure();
    if (failure !== undefined) throw failure;
  };
}
