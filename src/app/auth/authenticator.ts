import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import { NO_TOPICS } from "../../domain/topic-grants.js";
import type { Store } from "../ports/store.js";
import { hashSecret, parseApiKey, sameHash } from "./api-keys.js";
import type { Principal } from "./principal.js";

/** Why an authentication failed, for metrics and logs (never shown to the caller). */
export type AuthFailure =
  | "missing"
  | "malformed"
  | "unknown_key"
  | "expired_key"
  | "bad_token"
  | "inactive_subscriber";

export interface AuthenticatorOptions {
  /** False only in the loopback development mode: every caller is `open`. */
  enabled: boolean;
  /** SHA-256 hex digests of the configured admin tokens (HERALD_ADMIN_TOKENS). */
  adminTokenHashes: readonly string[];
  /** How long a verified key is trusted without another database read, ms. */
  cacheTtlMs?: number;
  onFailure?: (reason: AuthFailure, keyPrefix: string | undefined) => void;
}

const UNAUTHENTICATED = () =>
  new DomainError(
    "unauthenticated",
    "UNAUTHENTICATED",
    "missing or invalid credentials (authorization: Bearer <token>)",
  );

/**
 * Turns an `authorization` header into a Principal: an admin token from configuration, or a
 * publisher or subscriber API key (looked up by its public prefix, compared by hash in constant
 * time). The error never says why a credential was wrong; the reason goes to `onFailure`.
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal; untilMs: number }>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly options: AuthenticatorOptions,
  ) {}

  get enabled(): boolean {
    return this.options.enabled;
  }

  async authenticate(authorization: string | null): Promise<Principal> {
    if (!this.options.enabled) return { kind: "open" };
    if (authorization === null || authorization === "") return this.fail("missing", undefined);
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization);
    if (!match) return this.fail("malformed", undefined);
    const token = match[1] as string;
    const tokenHash = hashSecret(token);
    let isAdmin = false;
    // Compare against every admin token (no early exit) so timing does not tell which matched.
    for (const adminHash of this.options.adminTokenHashes)
      isAdmin = sameHash(tokenHash, adminHash) || isAdmin;
    if (isAdmin) return { kind: "admin" };

    const nowMs = this.clock.nowMs();
    const cached = this.cache.get(tokenHash);
    if (cached && cached.untilMs > nowMs) return cached.principal;
    const parsed = parseApiKey(token);
    if (!parsed) return this.fail("bad_token", undefined);
    const stored = await this.store.repos.apiKeys.findByPrefix(parsed.prefix);
    if (!stored || stored.ownerKind !== parsed.kind || !sameHash(tokenHash, stored.keyHash)) {
      return this.fail("unknown_key", parsed.prefix);
    }
    if (stored.expiresAtMs !== null && stored.expiresAtMs <= nowMs)
      return this.fail("expired_key", parsed.prefix);
    const principal = await this.principalFor(stored.ownerKind, stored.ownerId, parsed.prefix);
    if (!principal) return this.fail("unknown_key", parsed.prefix);
    const ttl = this.options.cacheTtlMs ?? 1_000;
    const untilMs = Math.min(nowMs + ttl, stored.expiresAtMs ?? Number.POSITIVE_INFINITY);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(tokenHash, { principal, untilMs });
    return principal;
  }

  private async principalFor(
    kind: "publisher" | "subscriber",
    ownerId: bigint,
    keyPrefix: string,
  ): Promise<Principal | undefined> {
    if (kind === "subscriber") {
      const subscriber = await this.store.repos.subscribers.findById(ownerId);
      if (!subscriber) return undefined;
      // A deactivated subscriber's keys stop working (its open streams end at their next re-check).
      if (!subscriber.isActive) return this.fail("inactive_subscriber", keyPrefix);
      return { kind: "subscriber", subscriberId: subscriber.id, keyPrefix };
    }
    const publisher = await this.store.repos.publishers.findById(ownerId);
    if (!publisher) return undefined;
    const grants = await this.store.repos.publisherGrants.findMany([publisher.id]);
    return {
      kind: "publisher",
      publisherId: publisher.id,
      code: publisher.code,
      isActive: publisher.isActive,
      keyPrefix,
      topics: grants.get(publisher.id) ?? NO_TOPICS,
    };
  }

  private fail(reason: AuthFailure, keyPrefix: string | undefined): never {
    this.options.onFailure?.(reason, keyPrefix);
    throw UNAUTHENTICATED();
  }
}
