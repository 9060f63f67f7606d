import type { Knex } from "knex";
import type { TopicRepository } from "../app/store.js";
import type { Dialect } from "./dialect.js";
import { KnexCodedEntityRepository } from "./knex-coded-entity-repository.js";
import { idParam } from "./row-values.js";

export class KnexTopicRepository extends KnexCodedEntityRepository implements TopicRepository {
  constructor(db: Knex | Knex.Transaction, dialect: Dialect) {
    super(db, dialect, "topics", "topic");
  }

  async retire(id: bigint, retiredCode: string, nowMs: number): Promise<void> {
    await this.db("topics")
      .where({ id: idParam(id) })
      .update({ code: retiredCode, is_active: false, updated_at_ms: nowMs });
  }
}
