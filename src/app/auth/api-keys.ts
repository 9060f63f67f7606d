import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ApiKeyOwnerKind } from "../ports/api-key-repository.js";

const PREFIX_TAG: Record<ApiKeyOwnerKind, string> = { publisher: "hpk", subscriber: "hsk" };
const KEY_PATTERN = /^(hpk|hsk)_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface IssuedApiKey {
  /** The whole key, shown to its owner once. */
  key: string;
  /** Public part used to find the key ("hpk_0123456789ab"); safe to log. */
  prefix: string;
  keyHash: string;
}

/** SHA-256 (hex) of a presented secret: keys carry 256 random bits, so a fast hash is enough. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A new API key: "<hpk|hsk>_<12 hex prefix>_<43 base64url chars of 256 random bits>". */
export function issueApiKey(kind: ApiKeyOwnerKind): IssuedApiKey {
  const prefix = `${PREFIX_TAG[kind]}_${randomBytes(6).toString("hex")}`;
  const key = `${prefix}_${randomBytes(32).toString("base64url")}`;
  return { key, prefix, keyHash: hashSecret(key) };
}

/** The kind and public prefix of something shaped like a Herald API key; undefined otherwise. */
export function parseApiKey(token: string): { kind: ApiKeyOwnerKind; prefix: string } | undefined {
  const match = KEY_PATTERN.exec(token);
  if (!match) return undefined;
  return { kind: match[1] === "hpk" ? "publisher" : "subscriber", prefix: `${match[1]}_${match[2]}` };
}

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
