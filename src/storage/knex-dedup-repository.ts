import type { Knex } from "knex";
import type { DedupRepository } from "../app/ports/dedup-repository.js";
import { DomainError } from "../domain/domain-error.js";
import { chunked, rowsPerStatement } from "./bound-parameters.js";
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
    const rows: { dedup_id: unknown; message_id: unknown; expires_at_ms: unknown }[] = [];
    for (const slice of chunked([...new Set(dedupIds)], this.dialect.maxBoundParameters - 1)) {
      rows.push(
        ...((await this.db("message_dedup")
          .select("dedup_id", "message_id", "expires_at_ms")
          .where("publisher_id", idParam(publisherId))
          .whereIn("dedup_id", slice)) as typeof rows),
      );
    }
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
    // Expired entries of these ids are replaced: the window has passed, the id may be reused.
    for (const slice of chunked(entries, this.dialect.maxBoundParameters - 2)) {
      await this.db("message_dedup")
        .where("publisher_id", idParam(publisherId))
        .whereIn(
          "dedup_id",
          slice.map((e) => e.dedupId),
        )
        .where("expires_at_ms", "<=", nowMs)
        .delete();
    }
    const columns = ["publisher_id", "dedup_id", "message_id", "expires_at_ms"];
    try {
      for (const slice of chunked(
        entries,
        rowsPerStatement(this.dialect.maxBoundParameters, columns.length),
      )) {
        await insertRows(
          this.db,
          "message_dedup",
          columns,
          slice.map((e) => [idParam(publisherId), e.dedupId, idParam(e.messageId), nowMs + windowMs]),
        );
      }
    } catch (err) {
      if (this.dialect.isDuplicateKey(err)) {
        throw DomainError.precondition("DEDUP_RACE", "a concurrent publish recorded the same dedup_id");
      }
      throw err;
    }
  }
}
