import type { AckRef } from "./ack-id.js";
import type { QueueItemRecord } from "./delivery-ports.js";
import type { Repositories } from "./store.js";

/** The key of one lease: a row and its lease token; outcomes are matched by it, never by row alone. */
export function leaseKey(ref: AckRef): string {
  return `${ref.queueId}:${ref.leaseToken}`;
}

/**
 * Locks the rows the refs name and keeps those still leased under the token of one of the refs:
 * the fence that stops an outcome of an older delivery from touching a newer one. Several refs
 * may name one row (an expired delivery and its redelivery); only the current one matches.
 */
export async function lockCurrentLeases(
  repos: Repositories,
  subscriptionId: bigint,
  refs: readonly AckRef[],
): Promise<QueueItemRecord[]> {
  const rows = await repos.deliveries.lockByIds(subscriptionId, [...new Set(refs.map((r) => r.queueId))]);
  const wanted = new Set(refs.map(leaseKey));
  return rows.filter(
    (row) => row.status === "leased" && wanted.has(leaseKey({ queueId: row.id, leaseToken: row.leaseToken })),
  );
}
