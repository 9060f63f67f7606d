import { type Message, messageSizeBytes } from "../../domain/message.js";
import type { AckRef } from "../consume/ack-id.js";
import { type Delivery, deliveryOf } from "../consume/delivery-service.js";
import type { DirectTaker, DirectTakers, Room } from "../consume/direct-takers.js";
import type { FannedOutLease } from "../ports/queue-repository.js";
import type { PublishRequest } from "./publish-batch.js";

/** A message of a group commit, by its request and position in that request. */
export interface BatchSlot {
  request: number;
  position: number;
}

/** Rows a group commit leases for one waiting taker's subscription, as it fans them out. */
export interface HandoffLease {
  subscriptionId: bigint;
  owner: string;
  leaseMs: number;
  /** The messages whose rows to lease, in publish order. */
  slots: readonly BatchSlot[];
}

/** One taker's share of a group commit and the room promised for it. */
export interface Handoff extends HandoffLease {
  taker: DirectTaker;
  promised: Room;
}

/**
 * Plans a group commit's hand-offs: for each subscription of the batch's topics with a waiting
 * taker on this instance, the first messages (in publish order) that fit the taker's room, which
 * is promised at once so no other commit or claim can use it. Messages that turn out to be
 * duplicates, or that the subscription's filter leaves out, get no row: the taker receives fewer.
 */
export function planHandoffs(takers: DirectTakers, requests: readonly PublishRequest[]): Handoff[] {
  const requestsByTopic = new Map<bigint, number[]>();
  requests.forEach((r, request) => {
    const indexes = requestsByTopic.get(r.topicId) ?? [];
    requestsByTopic.set(r.topicId, indexes);
    indexes.push(request);
  });
  const byTopic = new Map<bigint, (BatchSlot & { sizeBytes: number })[]>();
  for (const [topicId, indexes] of requestsByTopic) {
    // Most publishes find no waiting stream: weigh messages only for topics that have one.
    if (takers.roomiestPerSubscription(topicId).length === 0) continue;
    const slots: (BatchSlot & { sizeBytes: number })[] = [];
    for (const request of indexes) {
      (requests[request] as PublishRequest).messages.forEach((m, position) => {
        slots.push({ request, position, sizeBytes: messageSizeBytes(m.data, m.attributes) });
      });
    }
    byTopic.set(topicId, slots);
  }
  const handoffs: Handoff[] = [];
  for (const [topicId, slots] of byTopic) {
    for (const taker of takers.roomiestPerSubscription(topicId)) {
      const room = taker.room();
      const taken: BatchSlot[] = [];
      let bytes = 0;
      for (const slot of slots) {
        if (taken.length >= room.messages || bytes + slot.sizeBytes > room.bytes) break;
        taken.push({ request: slot.request, position: slot.position });
        bytes += slot.sizeBytes;
      }
      if (taken.length === 0) continue;
      const promised = { messages: taken.length, bytes };
      taker.promise(promised);
      handoffs.push({
        taker,
        promised,
        subscriptionId: taker.subscriptionId,
        owner: taker.owner,
        leaseMs: taker.leaseMs,
        slots: taken,
      });
    }
  }
  return handoffs;
}

/**
 * After the commit: gives each taker the deliveries of the rows leased for it. Returns the leases
 * of takers that ended meanwhile, which the caller gives back for redelivery.
 */
export function completeHandoffs(
  handoffs: readonly Handoff[],
  leases: readonly (readonly FannedOutLease[])[],
  requests: readonly PublishRequest[],
  messageIds: readonly (readonly bigint[])[],
  createdAtMs: number,
): AckRef[] {
  const orphaned: AckRef[] = [];
  handoffs.forEach((handoff, i) => {
    const messages = new Map<bigint, Message>();
    for (const { request, position } of handoff.slots) {
      const r = requests[request] as PublishRequest;
      const m = r.messages[position];
      const id = messageIds[request]?.[position];
      if (m === undefined || id === undefined) continue;
      messages.set(id, {
        id,
        topicId: r.topicId,
        publisherId: r.publisherId,
        identifier: m.identifier,
        orderingKey: m.orderingKey,
        data: m.data,
        attributes: m.attributes,
        createdAtMs,
        ...(m.traceContext !== undefined ? { traceContext: m.traceContext } : {}),
      });
    }
    const deliveries: Delivery[] = [];
    for (const lease of leases[i] ?? []) {
      const message = messages.get(lease.messageId);
      if (!message) continue;
      const ref = { queueId: lease.queueId, leaseToken: lease.leaseToken };
      deliveries.push(deliveryOf(ref, 1, message, messageSizeBytes(message.data, message.attributes)));
    }
    if (!handoff.taker.settle(handoff.promised, deliveries)) orphaned.push(...deliveries.map((d) => d.ref));
  });
  return orphaned;
}

/** The commit failed: every promised room is given back, nothing handed over. */
export function cancelHandoffs(handoffs: readonly Handoff[]): void {
  for (const handoff of handoffs) handoff.taker.settle(handoff.promised, []);
}
