import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { LeaseRef } from "../../domain/queue-item.js";

/**
 * Ack ids are opaque to consumers: base64url of the queue row id and the lease token of the
 * delivery (two big-endian uint64) followed by a MAC of both. The token fences each delivery: after
 * a redelivery the old ack id no longer matches the row and is reported invalid instead of acking
 * the newer delivery. The MAC makes ack ids unguessable (L1): row ids and lease tokens are
 * counters, so without it anyone could compute the ack id of a delivery they never received.
 */

/** What an ack id names: one lease of one queue item. */
export type AckRef = LeaseRef;

const BODY_BYTES = 16;
/** 128 bits of HMAC-SHA-256: forging one ack id takes ~2^127 guesses. */
const TAG_BYTES = 16;
const ACK_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Keys a process accepts; more than one only when several servers share a process (tests). */
const MAX_KEYS = 16;

let keys: Buffer[] = [];

/**
 * Makes `key` the one new ack ids are signed with. Every instance on one database must use the
 * same key (the server reads it from the database at start), so an ack id issued by one instance
 * acks on another. Keys set earlier in this process stay accepted.
 */
export function useAckIdKey(key: Buffer): void {
  keys = [key, ...keys.filter((k) => !k.equals(key))].slice(0, MAX_KEYS);
}

function signingKey(): Buffer {
  // Unit tests encode without a server: a process-local key then.
  if (keys.length === 0) keys = [randomBytes(32)];
  return keys[0] as Buffer;
}

function tagOf(key: Buffer, body: Buffer): Buffer {
  return createHmac("sha256", key).update(body).digest().subarray(0, TAG_BYTES);
}

export function encodeAckId(ref: AckRef): string {
  const bytes = Buffer.alloc(BODY_BYTES + TAG_BYTES);
  bytes.writeBigUInt64BE(ref.queueId, 0);
  bytes.writeBigUInt64BE(ref.leaseToken, 8);
  tagOf(signingKey(), bytes.subarray(0, BODY_BYTES)).copy(bytes, BODY_BYTES);
  return bytes.toString("base64url");
}

/** Parses an ack id; undefined for anything Herald did not issue (wrong length, alphabet, MAC or zero id). */
export function decodeAckId(ackId: string): AckRef | undefined {
  if (!ACK_ID_PATTERN.test(ackId)) return undefined;
  const bytes = Buffer.from(ackId, "base64url");
  if (bytes.length !== BODY_BYTES + TAG_BYTES || bytes.toString("base64url") !== ackId) return undefined;
  const body = bytes.subarray(0, BODY_BYTES);
  const tag = bytes.subarray(BODY_BYTES);
  if (!keys.some((key) => timingSafeEqual(tagOf(key, body), tag))) return undefined;
  const queueId = bytes.readBigUInt64BE(0);
  const leaseToken = bytes.readBigUInt64BE(8);
  if (queueId === 0n || queueId > 0x7fff_ffff_ffff_ffffn || leaseToken === 0n) return undefined;
  return { queueId, leaseToken };
}
