import type { Knex } from "knex";
import type { Page, PageRequest } from "../app/ports/paging.js";
import type { PublisherPatch } from "../app/ports/publisher-repository.js";
import { DomainError } from "../domain/domain-error.js";
import type { NewPublisher, Publisher } from "../domain/publisher.js";
import type { Topic } from "../domain/topic.js";
import type { Dialect } from "./dialect.js";
import { pageById } from "./page-query.js";
import { idParam, toBigInt, toBoolean, toNumber } from "./row-values.js";

interface CodedEntityRow {
  id: unknown;
  code: string;
  name: string;
  description: string;
  is_active: unknown;
  created_at_ms: unknown;
  updated_at_ms: unknown;
  /** topics only. */
  message_retention_ms?: unknown;
}

/** Publishers and topics have the same shape: code, name, description, is_active, timestamps. */
export type CodedEntity = Publisher & Topic;

function toCodedEntity(row: CodedEntityRow): CodedEntity {
  return {
    id: toBigInt(row.id),
    code: row.code,
    name: row.name,
    description: row.description,
    isActive: toBoolean(row.is_active),
    createdAtMs: toNumber(row.created_at_ms),
    updatedAtMs: toNumber(row.updated_at_ms),
    ...(row.message_retention_ms === undefined
      ? {}
      : { messageRetentionMs: toNumber(row.message_retention_ms) }),
  };
}

/** Publishers and topics share a shape (code, name, description, is_active); one class serves both tables. */
export class KnexCodedEntityRepository {
  constructor(
    protected readonly db: Knex | Knex.Transaction,
    protected readonly dialect: Dialect,
    private readonly table: "publishers" | "topics",
    private readonly what: string,
  ) {}

  async insert(entity: NewPublisher, nowMs: number): Promise<CodedEntity> {
    try {
      const [id] = await this.db(this.table).insert({
        code: entity.code,
        name: entity.name,
        description: entity.description,
        is_active: true,
        created_at_ms: nowMs,
        updated_at_ms: nowMs,
      });
      return this.getById(toBigInt(id));
    } catch (err) {
      if (this.dialect.isDuplicateKey(err)) throw DomainError.alreadyExists(this.what, entity.code);
      throw err;
    }
  }

  async findByCode(code: string): Promise<CodedEntity | undefined> {
    const row = (await this.db(this.table).where({ code }).first()) as CodedEntityRow | undefined;
    return row ? toCodedEntity(row) : undefined;
  }

  list(page: PageRequest): Promise<Page<CodedEntity>> {
    return pageById(this.db(this.table).select("*"), page, toCodedEntity);
  }

  async update(id: bigint, patch: PublisherPatch, nowMs: number): Promise<CodedEntity> {
    const changes: Record<string, unknown> = { updated_at_ms: nowMs };
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.description !== undefined) changes.description = patch.description;
    if (patch.isActive !== undefined) changes.is_active = patch.isActive;
    await this.db(this.table)
      .where({ id: idParam(id) })
      .update(changes);
    return this.getById(id);
  }

  async delete(id: bigint): Promise<void> {
    await this.db(this.table)
      .where({ id: idParam(id) })
      .delete();
  }

  async hasMessages(id: bigint): Promise<boolean> {
    const column = this.table === "publishers" ? "publisher_id" : "topic_id";
    const row = await this.db("messages").select("id").where(column, idParam(id)).first();
    return row !== undefined;
  }

  async findById(id: bigint): Promise<CodedEntity | undefined> {
    const row = (await this.db(this.table)
      .where({ id: idParam(id) })
      .first()) as CodedEntityRow | undefined;
    return row ? toCodedEntity(row) : undefined;
  }

  private async getById(id: bigint): Promise<CodedEntity> {
    const found = await this.findById(id);
    if (!found) throw DomainError.notFound(this.what, id.toString());
    return found;
  }
}
