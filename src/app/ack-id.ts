/**
 * Ack ids are opaque to consumers: base64url of the queue row id and the lease token of the
 * delivery (two big-endian uint64). The token fences each delivery: after a redelivery the old ack
 * id no longer matches the row and is reported invalid instead of acking the newer delivery.
 */

export interface AckRef {
  queueId: bigint;
  leaseToken: bigint;
}

export function encodeAckId(ref: AckRef): string {
  const bytes = Buffer.alloc(16);
  bytes.writeBigUInt64BE(ref.queueId, 0);
  bytes.writeBigUInt64BE(ref.leaseToken, 8);
  return bytes.toString("base64url");
}

/** Parses an ack id; undefined for anything Herald did not issue (wrong length, alphabet or zero id). */
export function decodeAckId(ackId: string): AckRef | undefined {
  if (!/^[A-Za-z0-9_-]{22}$/.test(ackId)) return undefined;
  const bytes = Buffer.from(ackId, "base64url");
  if (bytes.length !== 16 || bytes.toString("base64url") !== ackId) return undefined;
  const queueId = bytes.readBigUInt64BE(0);
  const leaseToken = bytes.readBigUInt64BE(8);
  if (queueId === 0n || queueId > 0x7fff_ffff_ffff_ffffn || leaseToken === 0n) return undefined;
  return { queueId, leaseToken };
}
