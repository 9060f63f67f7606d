import type { Store } from "../ports/store.js";

/**
 * Deletes snapshot `snapshotId`'s held-message rows `batchSize` at a time, each batch its own
 * short transaction, then the snapshot row; stops early (returning false) after `maxBatches`
 * batches, so a caller's run stays short — an expired snapshot answers NOT_FOUND already and the
 * next retention run finishes the job. Returns whether the snapshot is gone.
 */
export async function purgeSnapshot(
  store: Store,
  snapshotId: bigint,
  batchSize: number,
  maxBatches: number,
): Promise<boolean> {
  for (let i = 0; i < maxBatches; i++) {
    const deleted = await store.transaction((repos) => repos.snapshots.deleteItems(snapshotId, batchSize));
    if (deleted < batchSize) {
      await store.repos.snapshots.deleteRow(snapshotId);
      return true;
    }
  }
  return false;
}
