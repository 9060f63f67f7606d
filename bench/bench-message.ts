/** The messages every workload sends: a shared 1 KiB random payload and ids unique per bench run. */
import { randomBytes } from "node:crypto";
import type { BenchMessage } from "./peers/peer.js";

export const PAYLOAD_BYTES = 1024;

/** Random bytes, so no layer can compress them; shared by all messages (payload content is not checked). */
export const PAYLOAD: Uint8Array = new Uint8Array(randomBytes(PAYLOAD_BYTES));

/** `<prefix>-<seq>` for seq in [first, first + count), stamped with `sentAtMs`. */
export function makeBatch(prefix: string, first: number, count: number, sentAtMs: number): BenchMessage[] {
  return Array.from({ length: count }, (_, i) => ({ id: `${prefix}-${first + i}`, data: PAYLOAD, sentAtMs }));
}
