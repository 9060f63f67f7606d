import { createHash } from "node:crypto";

/**
 * A positive 63-bit hash of an ordering key, 0 for no key. Keys (up to 1024 bytes) are too long to
 * index on MySQL, so queue rows carry this hash instead; a collision only makes two keys share one
 * ordering lane (more serial, never out of order).
 */
export function orderingKeyHash(orderingKey: string): string {
  if (orderingKey === "") return "0";
  const digest = createHash("sha256").update(orderingKey, "utf8").digest();
  const hash = digest.readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn;
  return (hash === 0n ? 1n : hash).toString();
}
