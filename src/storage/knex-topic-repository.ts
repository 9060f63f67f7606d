import type { Knex } from "knex";
import type { TopicRepository } from "../app/ports/topic-repository.js";
import type { Dialect } from "./dialect.js";
import { KnexCodedEntityRepository } from "./knex-coded-entity-repository.js";
import { idParam } from "./row-values.js";

export class KnexTopicRepository extends KnexCodedEntityRepository implements TopicRepository {
  constructor(db: Knex | Knex.Transaction, dialect: Dialect) {
    super(db, dialect, "topics", "topic");
  }

  /** Its publishers' grants go with it (they reference the topic). */
  override async delete(id: bigint): Promise<void> {
    await this.db("publisher_topics")
      .where({ topic_id: idParam(id) })
      .delete();
    await super.delete(id);
  }

  async setMessageRetention(id: bigint, retentionMs: number, nowMs: number): Promise<void> {
    await this.db("topics")
      .where({ id: idParam(id) })
      .update({ message_retention_ms: retentionMs, updated_at_ms: nowMs });
  }

  async retire(id: bigint, retiredCode: string, nowMs: number): Promise<void> {
    await this.db("topics")
      .where({ id: idParam(id) })
      .update({ code: retiredCode, is_active: false, updated_at_ms: nowMs });
  }
}
