import { DomainError } from "../../domain/domain-error.js";
import { issueApiKey } from "../auth/api-keys.js";
import type { ApiKeyOwnerKind } from "../ports/api-key-repository.js";
import type { Repositories } from "../ports/store.js";

/** Overlap of a key rotation: how long superseded keys stay valid. */
export const KEY_OVERLAP = Object.freeze({ defaultMs: 24 * 60 * 60 * 1000, maxMs: 7 * 24 * 60 * 60 * 1000 });

/** Issues and stores (hashed) a new key for the owner; returns the key, shown once. */
export async function issueKeyIn(
  repos: Repositories,
  kind: ApiKeyOwnerKind,
  ownerId: bigint,
  nowMs: number,
): Promise<string> {
  const issued = issueApiKey(kind);
  await repos.apiKeys.insert(
    { ownerKind: kind, ownerId, prefix: issued.prefix, keyHash: issued.keyHash },
    nowMs,
  );
  return issued.key;
}

/** A new key for the owner; its other keys stay valid for `overlapMs` (default 24 h, 0 revokes at once). */
export async function rotateKeyIn(
  repos: Repositories,
  kind: ApiKeyOwnerKind,
  ownerId: bigint,
  overlapMs: number | undefined,
  nowMs: number,
): Promise<{ key: string; previousExpiresAtMs: number }> {
  const overlap = overlapMs ?? KEY_OVERLAP.defaultMs;
  if (overlap > KEY_OVERLAP.maxMs) throw DomainError.invalid("overlap", "must be at most 7 days");
  const issued = issueApiKey(kind);
  await repos.apiKeys.insert(
    { ownerKind: kind, ownerId, prefix: issued.prefix, keyHash: issued.keyHash },
    nowMs,
  );
  await repos.apiKeys.expireOthers(kind, ownerId, issued.prefix, nowMs + overlap);
  return { key: issued.key, previousExpiresAtMs: nowMs + overlap };
}
