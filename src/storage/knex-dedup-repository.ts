import type { Knex } from "knex";
import type { DedupRepository } from "../app/store.js";
import { DomainError } from "../domain/domain-error.js";
import type { Dialect } from "./dialect.js";
import { insertRows } from "./multi-row-insert.js";
import { idParam, toBigInt, toNumber } from "./row-values.js";

export class KnexDedupRepository implements DedupRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly dialect: Dialect,
  ) {}

  async findLive(
    publisherId: bigint,
    dedupIds: readonly string[],
    nowMs: number,
  ): Promise<Map<string, bigint>> {
    const found = new Map<string, bigint>();
    if (dedupIds.length === 0) return found;
    const rows = (await this.db("message_dedup")
      .select("dedup_id", "message_id", "expires_at_ms")
      .where("publisher_id", idParam(publisherId))
      .whereIn("dedup_id", [...new Set(dedupIds)])) as {
      dedup_id: unknown;
      message_id: unknown;
      expires_at_ms: unknown;
    }[];
    for (const row of rows) {
      // VARBINARY on MySQL arrives as a Buffer of the UTF-8 bytes.
      const dedupId = Buffer.isBuffer(row.dedup_id) ? row.dedup_id.toString("utf8") : String(row.dedup_id);
      if (toNumber(row.expires_at_ms) > nowMs) found.set(dedupId, toBigInt(row.message_id));
    }
    return found;
  }

  async record(
    publisherId: bigint,
    entries: readonly { dedupId: string; messageId: bigint }[],
    nowMs: number,
    windowMs: number,
  ): Promise<void> {
    if (entries.length === 0) return;
    // Expired entries of these ids are replaced: the window has passed, the id may be reused.
    await this.db("message_dedup")
      .where("publisher_id", idParam(publisherId))
      .whereIn(
        "dedup_id",
        entries.map((e) => e.dedupId),
      )
      .where("expires_at_ms", "<=", nowMs)
      .delete();
    try {
      await insertRows(
        this.db,
        "message_dedup",
        ["publisher_id", "dedup_id", "message_id", "expires_at_ms"],
        entries.map((e) => [idParam(publisherId), e.dedupId, idParam(e.messageId), nowMs + windowMs]),
      );
    } catch (err) {
      if (this.dialect.isDuplicateKey(err)) {
        throw DomainError.precondition("DEDUP_RACE", "a concurrent publish recorded the same dedup_id");
      }
      throw err;
    }
  }
}
