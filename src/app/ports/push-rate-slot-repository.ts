/** Storage port of push rate limits: the send slots every instance takes from, per subscription. */
export interface PushRateSlotRepository {
  /**
   * Reserves `count` consecutive send slots `intervalMs` apart for the subscription, starting no
   * earlier than `nowMs` and after every slot any instance reserved before; returns the first slot's
   * time (epoch ms). A compare-and-set update: a racing instance's reservation is never overwritten.
   */
  reserve(subscriptionId: bigint, count: number, intervalMs: number, nowMs: number): Promise<number>;
}
