import type { Knex } from "knex";
import type { PublisherRepository } from "../app/store.js";
import type { Dialect } from "./dialect.js";
import { KnexCodedEntityRepository } from "./knex-coded-entity-repository.js";

export class KnexPublisherRepository extends KnexCodedEntityRepository implements PublisherRepository {
  constructor(db: Knex | Knex.Transaction, dialect: Dialect) {
    super(db, dialect, "publishers", "publisher");
  }
}
