import type { Knex } from "knex";
import { PLAIN_SECRETS, type SecretSealer } from "../app/auth/secret-box.js";
import type { NewOidcKey, OidcKey, OidcKeyRepository } from "../app/ports/oidc-key-repository.js";
import { idParam, toBigInt, toNumber, toNumberOrNull } from "./row-values.js";

interface OidcKeyRow {
  id: unknown;
  kid: string;
  public_jwk: string;
  private_key_sealed: string;
  created_at_ms: unknown;
  retired_at_ms: unknown;
}

function toKey(row: OidcKeyRow): OidcKey {
  return {
    id: toBigInt(row.id),
    kid: row.kid,
    publicJwk: JSON.parse(row.public_jwk) as Record<string, unknown>,
    createdAtMs: toNumber(row.created_at_ms),
    retiredAtMs: toNumberOrNull(row.retired_at_ms),
  };
}

/** push_oidc_keys: private keys pass through `secrets` (sealed with HERALD_SECRET_KEYS) both ways. */
export class KnexOidcKeyRepository implements OidcKeyRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly secrets: SecretSealer = PLAIN_SECRETS,
  ) {}

  async findSigning(): Promise<(OidcKey & { privateKeyPem: string }) | undefined> {
    const row = (await this.db("push_oidc_keys").whereNull("retired_at_ms").orderBy("id", "desc").first()) as
      | OidcKeyRow
      | undefined;
    return row ? { ...toKey(row), privateKeyPem: this.secrets.open(row.private_key_sealed) } : undefined;
  }

  async listPublished(retiredAfterMs: number): Promise<OidcKey[]> {
    const rows = (await this.db("push_oidc_keys")
      .select("id", "kid", "public_jwk", "created_at_ms", "retired_at_ms")
      .whereNull("retired_at_ms")
      .orWhere("retired_at_ms", ">", retiredAfterMs)
      .orderBy("id", "desc")
      // A bound: keys rotate every few days and stay a day or so after; a dozen is already odd.
      .limit(50)) as OidcKeyRow[];
    return rows.map(toKey);
  }

  async insert(key: NewOidcKey, nowMs: number): Promise<bigint> {
    const [id] = await this.db("push_oidc_keys").insert({
      kid: key.kid,
      public_jwk: JSON.stringify(key.publicJwk),
      private_key_sealed: this.secrets.seal(key.privateKeyPem),
      created_at_ms: nowMs,
      retired_at_ms: null,
    });
    return toBigInt(id);
  }

  async retireOlderThan(keepId: bigint, nowMs: number): Promise<number> {
    return this.db("push_oidc_keys")
      .whereNull("retired_at_ms")
      .where("id", "<", idParam(keepId))
      .update({ retired_at_ms: nowMs });
  }

  async resealPrivateKeys(): Promise<number> {
    const rows = (await this.db("push_oidc_keys").select("id", "private_key_sealed").limit(500)) as {
      id: unknown;
      private_key_sealed: string;
    }[];
    let resealed = 0;
    for (const row of rows) {
      if (!this.secrets.needsReseal(row.private_key_sealed)) continue;
      resealed += await this.db("push_oidc_keys")
        .where({ id: idParam(toBigInt(row.id)), private_key_sealed: row.private_key_sealed })
        .update({ private_key_sealed: this.secrets.seal(this.secrets.open(row.private_key_sealed)) });
    }
    return resealed;
  }
}
