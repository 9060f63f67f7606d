import type { Knex } from "knex";
import type { ApiKeyOwnerKind, ApiKeyRepository, StoredApiKey } from "../app/ports/api-key-repository.js";
import { idParam, toBigInt, toNumberOrNull } from "./row-values.js";

export class KnexApiKeyRepository implements ApiKeyRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async insert(key: Omit<StoredApiKey, "expiresAtMs">, nowMs: number): Promise<void> {
    await this.db("api_keys").insert({
      owner_kind: key.ownerKind,
      owner_id: idParam(key.ownerId),
      prefix: key.prefix,
      key_hash: key.keyHash,
      created_at_ms: nowMs,
      expires_at_ms: null,
    });
  }

  async findByPrefix(prefix: string): Promise<StoredApiKey | undefined> {
    const row = (await this.db("api_keys").where({ prefix }).first()) as
      | { owner_kind: string; owner_id: unknown; prefix: string; key_hash: string; expires_at_ms: unknown }
      | undefined;
    if (!row) return undefined;
    return {
      ownerKind: row.owner_kind as ApiKeyOwnerKind,
      ownerId: toBigInt(row.owner_id),
      prefix: row.prefix,
      keyHash: row.key_hash,
      expiresAtMs: toNumberOrNull(row.expires_at_ms),
    };
  }

  async expireOthers(
    ownerKind: ApiKeyOwnerKind,
    ownerId: bigint,
    keepPrefix: string,
    expiresAtMs: number,
  ): Promise<void> {
    await this.db("api_keys")
      .where({ owner_kind: ownerKind, owner_id: idParam(ownerId) })
      .whereNot("prefix", keepPrefix)
      .where((q) => q.whereNull("expires_at_ms").orWhere("expires_at_ms", ">", expiresAtMs))
      .update({ expires_at_ms: expiresAtMs });
  }

  async deleteForOwner(ownerKind: ApiKeyOwnerKind, ownerId: bigint): Promise<void> {
    await this.db("api_keys")
      .where({ owner_kind: ownerKind, owner_id: idParam(ownerId) })
      .delete();
  }
}
