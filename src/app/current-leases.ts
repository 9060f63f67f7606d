import type { AckRef } from "./ack-id.js";
import type { QueueItemRecord } from "./delivery-ports.js";
import type { Repositories } from "./store.js";

/**
 * Locks the rows the refs name and keeps those still leased under the same token: the fence that
 * stops an outcome of an older delivery from touching a newer one.
 */
export async function lockCurrentLeases(
  repos: Repositories,
  subscriptionId: bigint,
  refs: readonly AckRef[],
): Promise<QueueItemRecord[]> {
  const rows = await repos.deliveries.lockByIds(
    subscriptionId,
    refs.map((r) => r.queueId),
  );
  const tokens = new Map(refs.map((r) => [r.queueId, r.leaseToken]));
  return rows.filter((row) => row.status === "leased" && tokens.get(row.id) === row.leaseToken);
}
