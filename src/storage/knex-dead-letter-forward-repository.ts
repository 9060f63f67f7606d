import type { Knex } from "knex";
import type {
  DeadLetterForwardRepository,
  PendingDeadLetterForward,
} from "../app/ports/dead-letter-forward-repository.js";
import { idParam, toBigInt, toNumber } from "./row-values.js";

export class KnexDeadLetterForwardRepository implements DeadLetterForwardRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async listPending(limit: number): Promise<PendingDeadLetterForward[]> {
    const rows = (await this.db("dead_letter_forwards as f")
      .join("dead_letters as d", "d.id", "f.dead_letter_id")
      .join("subscriptions as s", "s.id", "d.subscription_id")
      .join("topics as t", "t.id", "f.topic_id")
      .orderBy("f.dead_letter_id")
      .limit(limit)
      .select(
        "f.dead_letter_id",
        "d.message_id",
        "d.attempt_count",
        "s.name as subscription_name",
        "s.pubsub_project",
        "t.code as topic_code",
        "f.dedup_token",
      )) as {
      dead_letter_id: unknown;
      message_id: unknown;
      attempt_count: unknown;
      subscription_name: string;
      pubsub_project: string;
      topic_code: string;
      dedup_token: string;
    }[];
    return rows.map((r) => ({
      deadLetterId: toBigInt(r.dead_letter_id),
      messageId: toBigInt(r.message_id),
      attemptCount: toNumber(r.attempt_count),
      subscriptionName: r.subscription_name,
      pubsubProject: r.pubsub_project,
      deadLetterTopicCode: r.topic_code,
      dedupToken: r.dedup_token,
    }));
  }

  async delete(deadLetterIds: readonly bigint[]): Promise<void> {
    if (deadLetterIds.length === 0) return;
    await this.db("dead_letter_forwards").whereIn("dead_letter_id", deadLetterIds.map(idParam)).delete();
  }
}
