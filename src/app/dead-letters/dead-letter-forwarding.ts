import { DomainError } from "../../domain/domain-error.js";
import type { Message, OutgoingMessage } from "../../domain/message.js";
import type { PendingDeadLetterForward } from "../ports/dead-letter-forward-repository.js";
import type { Store } from "../ports/store.js";
import type { PublishMessages } from "../publish/publish-messages.js";
import type { PubsubIdentities } from "../pubsub/pubsub-identities.js";

/** Pub/Sub's attributes on a message it publishes to a dead-letter topic. */
export const DEAD_LETTER_ATTRIBUTES = Object.freeze({
  deliveryCount: "CloudPubSubDeadLetterSourceDeliveryCount",
  subscription: "CloudPubSubDeadLetterSourceSubscription",
  project: "CloudPubSubDeadLetterSourceSubscriptionProject",
  publishTime: "CloudPubSubDeadLetterSourceTopicPublishTime",
});

export interface ForwardOutcome {
  forwarded: number;
  /** Forwards that can never succeed (topic gone or inactive, message invalid there): dropped. */
  dropped: { deadLetterId: bigint; reason: string }[];
}

/**
 * Publishes dead letters to their subscription's dead-letter topic (Pub/Sub dead-letter policy).
 * Each forward carries the dedup id `herald-dead-letter-<token>`, the outbox row's random token, so
 * a forward retried after a crash between publish and outbox delete, or raced by another instance,
 * is stored once — and nobody can claim the dedup id in advance to suppress a forward.
 */
export class DeadLetterForwarding {
  constructor(
    private readonly store: Store,
    private readonly publishing: PublishMessages,
    private readonly identities: PubsubIdentities,
  ) {}

  async forwardBatch(limit = 100): Promise<ForwardOutcome> {
    const pending = await this.store.repos.deadLetterForwards.listPending(limit);
    const outcome: ForwardOutcome = { forwarded: 0, dropped: [] };
    if (pending.length === 0) return outcome;
    const messages = await this.store.repos.messages.findMany(pending.map((p) => p.messageId));
    const publisher = await this.identities.publisher();
    const done: bigint[] = [];
    try {
      await this.forwardEach(pending, messages, publisher, outcome, done);
    } finally {
      // What was published is taken off the outbox even when a later forward failed.
      await this.store.repos.deadLetterForwards.delete(done);
    }
    return outcome;
  }

  private async forwardEach(
    pending: readonly PendingDeadLetterForward[],
    messages: Map<bigint, Message>,
    publisher: string,
    outcome: ForwardOutcome,
    done: bigint[],
  ): Promise<void> {
    for (const forward of pending) {
      const message = messages.get(forward.messageId);
      if (!message) {
        outcome.dropped.push({ deadLetterId: forward.deadLetterId, reason: "message no longer stored" });
        done.push(forward.deadLetterId);
        continue;
      }
      const outgoing: OutgoingMessage = {
        data: message.data,
        attributes: { ...message.attributes, ...deadLetterAttributes(forward, message.createdAtMs) },
        orderingKey: message.orderingKey,
        identifier: message.identifier,
        dedupId: `herald-dead-letter-${forward.dedupToken}`,
      };
      try {
        await this.publishing.publish({
          publisher,
          topic: forward.deadLetterTopicCode,
          messages: [outgoing],
        });
        outcome.forwarded++;
      } catch (error) {
        // Unavailable, busy (publish queue full) and unknown errors leave the forward for the next round.
        if (
          !(error instanceof DomainError) ||
          error.kind === "unavailable" ||
          error.kind === "resource_exhausted" ||
          error.kind === "internal"
        )
          throw error;
        outcome.dropped.push({ deadLetterId: forward.deadLetterId, reason: error.message });
      }
      done.push(forward.deadLetterId);
    }
  }
}

function deadLetterAttributes(
  forward: PendingDeadLetterForward,
  publishTimeMs: number,
): Record<string, string> {
  return {
    [DEAD_LETTER_ATTRIBUTES.deliveryCount]: String(forward.attemptCount),
    [DEAD_LETTER_ATTRIBUTES.subscription]: forward.subscriptionName,
    [DEAD_LETTER_ATTRIBUTES.project]: forward.pubsubProject,
    [DEAD_LETTER_ATTRIBUTES.publishTime]: new Date(publishTimeMs).toISOString(),
  };
}
