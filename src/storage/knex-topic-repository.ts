import type { Knex } from "knex";
import type { TopicRepository } from "../app/store.js";
import type { Dialect } from "./dialect.js";
import { KnexCodedEntityRepository } from "./knex-coded-entity-repository.js";

export class KnexTopicRepository extends KnexCodedEntityRepository implements TopicRepository {
  constructor(db: Knex | Knex.Transaction, dialect: Dialect) {
    super(db, dialect, "topics", "topic");
  }
}
