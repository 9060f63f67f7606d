import type { AckRef } from "../app/consume/ack-id.js";

/**
 * Which local stream holds which delivery, so that an ack or nack handled by this instance frees
 * the stream's flow-control room at once. Acks handled by another instance are found by the
 * stream's periodic lease check instead.
 */
export class LeaseRegistry {
  private readonly holders = new Map<string, (ref: AckRef) => void>();

  private static key(ref: AckRef): string {
    return `${ref.queueId}:${ref.leaseToken}`;
  }

  track(ref: AckRef, onSettled: (ref: AckRef) => void): void {
    this.holders.set(LeaseRegistry.key(ref), onSettled);
  }

  untrack(ref: AckRef): void {
    this.holders.delete(LeaseRegistry.key(ref));
  }

  /** Tells the holding streams that these deliveries are acked or nacked. */
  settled(refs: readonly AckRef[]): void {
    for (const ref of refs) {
      const key = LeaseRegistry.key(ref);
      const holder = this.holders.get(key);
      if (holder) {
        this.holders.delete(key);
        holder(ref);
      }
    }
  }
}
