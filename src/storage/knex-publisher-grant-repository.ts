import type { Knex } from "knex";
import type { PublisherGrantRepository } from "../app/ports/publisher-grant-repository.js";
import { NO_TOPICS, type TopicGrants } from "../domain/topic-grants.js";
import { insertRows } from "./multi-row-insert.js";
import { idParam, toBigInt, toBoolean } from "./row-values.js";

/** Publisher → topic grants: a flag on publishers for "every topic", rows in publisher_topics otherwise. */
export class KnexPublisherGrantRepository implements PublisherGrantRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async findMany(publisherIds: readonly bigint[]): Promise<Map<bigint, TopicGrants>> {
    const result = new Map<bigint, TopicGrants>();
    if (publisherIds.length === 0) return result;
    const ids = publisherIds.map(idParam);
    const publishers = (await this.db("publishers")
      .select("id", "publishes_to_all_topics")
      .whereIn("id", ids)) as { id: unknown; publishes_to_all_topics: unknown }[];
    const rows = (await this.db("publisher_topics as g")
      .join("topics as t", "t.id", "g.topic_id")
      .select("g.publisher_id", "t.code")
      .whereIn("g.publisher_id", ids)
      .orderBy("t.code")) as { publisher_id: unknown; code: string }[];
    const codes = new Map<bigint, string[]>();
    for (const row of rows) {
      const id = toBigInt(row.publisher_id);
      codes.set(id, [...(codes.get(id) ?? []), row.code]);
    }
    for (const p of publishers) {
      const id = toBigInt(p.id);
      result.set(
        id,
        toBoolean(p.publishes_to_all_topics)
          ? { allTopics: true, topicCodes: [] }
          : { allTopics: false, topicCodes: codes.get(id) ?? [] },
      );
    }
    for (const id of publisherIds) if (!result.has(id)) result.set(id, NO_TOPICS);
    return result;
  }

  async replace(publisherId: bigint, allTopics: boolean, topicIds: readonly bigint[]): Promise<void> {
    const id = idParam(publisherId);
    await this.db("publishers").where({ id }).update({ publishes_to_all_topics: allTopics });
    await this.db("publisher_topics").where({ publisher_id: id }).delete();
    if (allTopics || topicIds.length === 0) return;
    // At most MAX_TOPIC_GRANTS (1,000) rows: 2,000 bound variables, within SQLite's limit.
    await insertRows(
      this.db,
      "publisher_topics",
      ["publisher_id", "topic_id"],
      topicIds.map((topicId) => [id, idParam(topicId)]),
    );
  }

  async findTopicIds(codes: readonly string[]): Promise<Map<string, bigint>> {
    if (codes.length === 0) return new Map();
    const rows = (await this.db("topics")
      .select("id", "code")
      .whereIn("code", [...codes])) as {
      id: unknown;
      code: string;
    }[];
    return new Map(rows.map((r) => [r.code, toBigInt(r.id)]));
  }

  async grant(publisherId: bigint, topicId: bigint): Promise<void> {
    await this.db("publisher_topics")
      .insert({ publisher_id: idParam(publisherId), topic_id: idParam(topicId) })
      .onConflict(["publisher_id", "topic_id"])
      .ignore();
  }
}
