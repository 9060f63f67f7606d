import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
} from "node:crypto";
import type { Clock } from "../../domain/clock.js";
import { type PushTokenClaims, pushTokenClaims } from "../../domain/push-oidc.js";
import type { Subscription } from "../../domain/subscription.js";
import type { Store } from "../ports/store.js";

export interface OidcKeyRingOptions {
  /** A signing key older than this is replaced by a new one, ms. */
  rotationMs: number;
  /** How long a replaced key stays published for verification, ms (at least the token lifetime). */
  overlapMs: number;
}

/** How long this instance trusts what it read of the keys (another instance may have rotated). */
const SIGNING_KEY_CACHE_MS = 60_000;
const JWKS_CACHE_MS = 10_000;

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  createdAtMs: number;
  readAtMs: number;
}

/** A JSON Web Key Set, as served at /.well-known/jwks.json. */
export interface Jwks {
  keys: Record<string, unknown>[];
}

/**
 * The RS256 keys Herald signs push tokens with: created on first use (2048-bit, private key sealed
 * at rest by the store), replaced once older than `rotationMs` (by whichever instance notices first;
 * all converge on the newest), and published with retired keys for `overlapMs` after their
 * retirement, so a token signed just before a rotation still verifies until it expires.
 */
export class OidcKeyRing {
  private signing: SigningKey | undefined;
  private published: { jwks: Jwks; readAtMs: number } | undefined;
  private rotating: Promise<SigningKey> | undefined;
  private issuerUrl = "";

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly options: OidcKeyRingOptions,
  ) {}

  /** The `iss` of every token and the base of the discovery document (set once the server listens). */
  get issuer(): string {
    return this.issuerUrl;
  }

  useIssuer(url: string): void {
    this.issuerUrl = url.replace(/\/+$/, "");
  }

  /** A signed token for one push of `subscription` (which has an OIDC service account). */
  async tokenFor(subscription: Subscription): Promise<{ token: string; claims: PushTokenClaims }> {
    const key = await this.signingKey();
    const claims = pushTokenClaims({
      issuer: this.issuerUrl,
      serviceAccountEmail: subscription.oidcServiceAccountEmail,
      audience: subscription.oidcAudience,
      endpointUrl: subscription.callbackUrl,
      nowMs: this.clock.nowMs(),
    });
    const header = { alg: "RS256", typ: "JWT", kid: key.kid };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign("sha256", Buffer.from(input), key.privateKey).toString("base64url");
    return { token: `${input}.${signature}`, claims };
  }

  /** The published keys: the signing key and retired keys still within their overlap. */
  async jwks(): Promise<Jwks> {
    const nowMs = this.clock.nowMs();
    if (this.published && nowMs - this.published.readAtMs < JWKS_CACHE_MS) return this.published.jwks;
    const keys = await this.store.repos.oidcKeys.listPublished(nowMs - this.options.overlapMs);
    const jwks = { keys: keys.map((k) => k.publicJwk) };
    this.published = { jwks, readAtMs: nowMs };
    return jwks;
  }

  /** Replaces the signing key now (as the rotation interval would). */
  async rotate(): Promise<void> {
    this.signing = await this.createKey();
    this.published = undefined;
  }

  private async signingKey(): Promise<SigningKey> {
    const nowMs = this.clock.nowMs();
    const cached = this.signing;
    if (cached && nowMs - cached.readAtMs < SIGNING_KEY_CACHE_MS && !this.isDue(cached, nowMs)) return cached;
    this.rotating ??= this.loadOrRotate().finally(() => {
      this.rotating = undefined;
    });
    this.signing = await this.rotating;
    return this.signing;
  }

  private isDue(key: Pick<SigningKey, "createdAtMs">, nowMs: number): boolean {
    return nowMs - key.createdAtMs >= this.options.rotationMs;
  }

  private async loadOrRotate(): Promise<SigningKey> {
    const nowMs = this.clock.nowMs();
    const stored = await this.store.repos.oidcKeys.findSigning();
    if (stored && !this.isDue(stored, nowMs)) {
      return {
        kid: stored.kid,
        privateKey: createPrivateKey(stored.privateKeyPem),
        createdAtMs: stored.createdAtMs,
        readAtMs: nowMs,
      };
    }
    const created = await this.createKey();
    this.published = undefined;
    return created;
  }

  private async createKey(): Promise<SigningKey> {
    const nowMs = this.clock.nowMs();
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const kid = randomUUID();
    const publicJwk = {
      ...createPublicKey(privateKey).export({ format: "jwk" }),
      kid,
      alg: "RS256",
      use: "sig",
    };
    const privateKeyPem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    await this.store.transaction(async (repos) => {
      const id = await repos.oidcKeys.insert({ kid, publicJwk, privateKeyPem }, nowMs);
      await repos.oidcKeys.retireOlderThan(id, nowMs);
    });
    return { kid, privateKey, createdAtMs: nowMs, readAtMs: nowMs };
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}
