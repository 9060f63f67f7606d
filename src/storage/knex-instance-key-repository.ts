import type { Knex } from "knex";
import type { InstanceKeyRepository } from "../app/ports/instance-key-repository.js";

/** instance_keys: one row per key name; the first insert wins, every instance reads the same row. */
export class KnexInstanceKeyRepository implements InstanceKeyRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async findOrCreate(name: string, candidateBase64: string, nowMs: number): Promise<string> {
    await this.db("instance_keys")
      .insert({ name, key_base64: candidateBase64, created_at_ms: nowMs })
      .onConflict("name")
      .ignore();
    const row = (await this.db("instance_keys").select("key_base64").where({ name }).first()) as
      | { key_base64: string }
      | undefined;
    if (!row) throw new Error(`instance key ${name} missing after insert`);
    return row.key_base64;
  }
}
