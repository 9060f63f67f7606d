/** Storage port of the RS256 keys Herald signs push tokens with. */

/** A stored key; `privateKeyPem` is opened (the store seals it at rest). */
export interface OidcKey {
  id: bigint;
  kid: string;
  /** The public key as a JWK object (kty, n, e, kid, alg, use). */
  publicJwk: Record<string, unknown>;
  createdAtMs: number;
  retiredAtMs: number | null;
}

export interface NewOidcKey {
  kid: string;
  publicJwk: Record<string, unknown>;
  privateKeyPem: string;
}

export interface OidcKeyRepository {
  /** The newest key that is not retired, with its private key; undefined when there is none. */
  findSigning(): Promise<(OidcKey & { privateKeyPem: string }) | undefined>;
  /** Keys to publish: not retired, or retired after `retiredAfterMs` (still within their overlap). */
  listPublished(retiredAfterMs: number): Promise<OidcKey[]>;
  insert(key: NewOidcKey, nowMs: number): Promise<bigint>;
  /**
   * Retires every unretired key older than `keepId` (a racing instance's newer key wins, so all
   * instances converge on one signing key). Returns how many it retired.
   */
  retireOlderThan(keepId: bigint, nowMs: number): Promise<number>;
  /** Seals every private key again under the first key where needed; returns how many. */
  resealPrivateKeys(): Promise<number>;
}
