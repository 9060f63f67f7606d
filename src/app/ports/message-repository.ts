/** Storage port of messages. */
import type { Message, OutgoingMessage } from "../../domain/message.js";

/** A message ready to store: validated, with its publisher and topic resolved. */
export interface MessageToStore extends Omit<OutgoingMessage, "dedupId"> {
  topicId: bigint;
  publisherId: bigint;
  createdAtMs: number;
}

export interface MessageRepository {
  /**
   * Inserts the messages in order and returns their ids in the same order. Messages of one
   * ordering key get ids in commit order, across connections and instances: in a transaction,
   * a concurrent insert of the same key waits until this transaction ends.
   */
  insertMany(messages: readonly MessageToStore[]): Promise<bigint[]>;
  findById(id: bigint): Promise<Message | undefined>;
  /** The messages among `ids` that exist, keyed by id. */
  findMany(ids: readonly bigint[]): Promise<Map<bigint, Message>>;
}
