import type { Delivery } from "./delivery-service.js";

/** Messages and bytes of flow-control room. */
export interface Room {
  messages: number;
  bytes: number;
}

/**
 * A consumer of this instance (a Subscribe stream of an unordered subscription) waiting for work,
 * to which a local publish can hand deliveries straight from its commit: the publish transaction
 * leases the rows it fans out to the taker's subscription, and after the commit the taker gets
 * them without a claim transaction of its own.
 */
export interface DirectTaker {
  readonly subscriptionId: bigint;
  readonly topicId: bigint;
  /** Lease holder written with the leases, as a claim would. */
  readonly owner: string;
  readonly leaseMs: number;
  /** Room left after what it holds and what commits in flight were promised. */
  room(): Room;
  /** Promises room to a commit in flight; it counts against the taker's flow control until `settle`. */
  promise(room: Room): void;
  /**
   * The commit finished: the promised room is given back and `deliveries` (none when the commit
   * failed) are handed over. Returns false when the taker has ended and did not take them: the
   * caller then gives their leases back.
   */
  settle(promised: Room, deliveries: Delivery[]): boolean;
}

/**
 * The takers waiting on this instance, by topic and subscription. Streams register while they
 * wait for work and unregister when they wake; Publish asks for the takers of its topics.
 */
export class DirectTakers {
  private readonly byTopic = new Map<bigint, Map<bigint, Set<DirectTaker>>>();

  /** Registers a waiting taker; returns its unregistration. */
  register(taker: DirectTaker): () => void {
    const bySubscription = this.byTopic.get(taker.topicId) ?? new Map<bigint, Set<DirectTaker>>();
    this.byTopic.set(taker.topicId, bySubscription);
    const takers = bySubscription.get(taker.subscriptionId) ?? new Set<DirectTaker>();
    bySubscription.set(taker.subscriptionId, takers);
    takers.add(taker);
    return () => {
      takers.delete(taker);
      if (takers.size > 0) return;
      if (bySubscription.get(taker.subscriptionId) === takers) bySubscription.delete(taker.subscriptionId);
      if (bySubscription.size === 0 && this.byTopic.get(taker.topicId) === bySubscription) {
        this.byTopic.delete(taker.topicId);
      }
    };
  }

  /** For each subscription of the topic with a waiting taker, the one with the most room for messages. */
  roomiestPerSubscription(topicId: bigint): DirectTaker[] {
    const chosen: DirectTaker[] = [];
    for (const takers of this.byTopic.get(topicId)?.values() ?? []) {
      let best: DirectTaker | undefined;
      let bestRoom = 0;
      for (const taker of takers) {
        const room = taker.room().messages;
        if (room > bestRoom) {
          best = taker;
          bestRoom = room;
        }
      }
      if (best) chosen.push(best);
    }
    return chosen;
  }
}
