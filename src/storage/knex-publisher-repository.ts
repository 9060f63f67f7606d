import type { Knex } from "knex";
import type { PublisherRepository } from "../app/ports/publisher-repository.js";
import type { Dialect } from "./dialect.js";
import { KnexCodedEntityRepository } from "./knex-coded-entity-repository.js";
import { idParam } from "./row-values.js";

export class KnexPublisherRepository extends KnexCodedEntityRepository implements PublisherRepository {
  constructor(db: Knex | Knex.Transaction, dialect: Dialect) {
    super(db, dialect, "publishers", "publisher");
  }

  /** Its topic grants go with it (they reference the publisher). */
  override async delete(id: bigint): Promise<void> {
    await this.db("publisher_topics")
      .where({ publisher_id: idParam(id) })
      .delete();
    await super.delete(id);
  }
}
