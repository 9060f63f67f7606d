import { holdsLease, type LeaseRef, leaseKey, type QueueItem } from "../../domain/queue-item.js";
import type { Repositories } from "../ports/store.js";

/**
 * Locks the items the refs name and keeps those still leased under the token of one of the refs:
 * the fence that stops an outcome of an older delivery from touching a newer one. Several refs
 * may name one item (an expired delivery and its redelivery); only the current one matches.
 */
export async function lockCurrentLeases(
  repos: Repositories,
  subscriptionId: bigint,
  refs: readonly LeaseRef[],
): Promise<QueueItem[]> {
  const items = await repos.deliveries.lockByIds(subscriptionId, [...new Set(refs.map((r) => r.queueId))]);
  const wanted = new Map(refs.map((r) => [leaseKey(r), r]));
  return items.filter((item) => {
    const ref = wanted.get(leaseKey({ queueId: item.id, leaseToken: item.leaseToken }));
    return ref !== undefined && holdsLease(item, ref);
  });
}
