import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type {
  StreamingPullRequest,
  StreamingPullResponseSchema,
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
import { receivedToPubsub } from "./pubsub-conversion.js";
import { parseSubscriptionName } from "./resource-names.js";

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
 * so a client extending many leases at once costs one transaction per distinct deadline.
 */
async function applyAcks(
  engine: ConsumerEngine,
  subscription: Subscription,
  req: StreamingPullRequest,
  limits: StreamLimits,
): Promise<void> {
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
  if (req.ackIds.length > 0) await engine.acknowledge(subscription, req.ackIds);
  const bySeconds = new Map<number, string[]>();
  req.modifyDeadlineAckIds.forEach((ackId, i) => {
    const seconds = req.modifyDeadlineSeconds[i] as number;
    validateAckDeadlineExtension("modify_deadline_seconds", seconds);
    const ids = bySeconds.get(seconds) ?? [];
    ids.push(ackId);
    bySeconds.set(seconds, ids);
  });
  for (const [seconds, ids] of bySeconds) await engine.modifyAckDeadline(subscription, ids, seconds);
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
  ): AsyncGenerator<MessageInitShape<typeof StreamingPullResponseSchema>> {
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
    await applyAcks(engine, subscription, first, limits);

    const ended = new AbortController();
    let failure: unknown;
    void (async () => {
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done) break;
          try {
            await applyAcks(engine, subscription, next.value, limits);
          } catch (error) {
            // A malformed request ends the stream with its error; a database outage loses only
            // these acks (the leases expire and the messages come again: at-least-once).
            if (error instanceof DomainError) throw error;
            onAckError(error);
          }
        }
      } catch (error) {
        if (!ctx.signal.aborted) failure = error;
      } finally {
        ended.abort();
      }
    })();

    let isFirst = true;
    const guard = guardStreamAccess(ctx, id, access);
    try {
      for await (const batch of engine.subscribe(
        subscription,
        limits,
        AbortSignal.any([ctx.signal, ended.signal, guard.signal]),
        streamPrincipalKey(principal),
      )) {
        yield {
          receivedMessages: batch.map((d) => receivedToPubsub(subscription, d)),
          ...(isFirst
            ? {
                subscriptionProperties: {
                  exactlyOnceDeliveryEnabled: false,
                  messageOrderingEnabled: subscription.enableOrdering,
                },
              }
            : {}),
        };
        isFirst = false;
      }
    } finally {
      guard.stop();
      ended.abort();
    }
    // Access was lost (key revoked, subscriber deactivated, subscription deleted): say so.
    if (guard.failure() !== undefined) throw guard.failure();
    if (failure !== undefined) throw failure;
  };
}
