/** Storage port for API keys (hashes only). */
export type ApiKeyOwnerKind = "publisher" | "subscriber";

export interface StoredApiKey {
  ownerKind: ApiKeyOwnerKind;
  ownerId: bigint;
  prefix: string;
  /** Hex SHA-256 of the whole key. */
  keyHash: string;
  expiresAtMs: number | null;
}

export interface ApiKeyRepository {
  insert(key: Omit<StoredApiKey, "expiresAtMs">, nowMs: number): Promise<void>;
  findByPrefix(prefix: string): Promise<StoredApiKey | undefined>;
  /** Ends the owner's other keys at `expiresAtMs` (keeps an earlier expiry). */
  expireOthers(
    ownerKind: ApiKeyOwnerKind,
    ownerId: bigint,
    keepPrefix: string,
    expiresAtMs: number,
  ): Promise<void>;
  deleteForOwner(ownerKind: ApiKeyOwnerKind, ownerId: bigint): Promise<void>;
}
