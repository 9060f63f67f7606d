/** Storage port of topics. */
import type { NewTopic, Topic } from "../../domain/topic.js";
import type { CodedEntityPatch } from "./coded-entity-patch.js";
import type { Page, PageRequest } from "./paging.js";

export type TopicPatch = CodedEntityPatch;

export interface TopicRepository {
  /** Throws ALREADY_EXISTS when the code is taken. */
  insert(topic: NewTopic, nowMs: number): Promise<Topic>;
  findByCode(code: string): Promise<Topic | undefined>;
  list(page: PageRequest): Promise<Page<Topic>>;
  update(id: bigint, patch: TopicPatch, nowMs: number): Promise<Topic>;
  delete(id: bigint): Promise<void>;
  hasMessages(id: bigint): Promise<boolean>;
  /** Sets the topic's message retention, ms (0 = none); validated by the caller. */
  setMessageRetention(id: bigint, retentionMs: number, nowMs: number): Promise<void>;
  /**
   * Deactivates the topic and moves it to `retiredCode`, freeing its code for a new topic while
   * its messages, subscriptions and history stay (Pub/Sub's DeleteTopic of a topic in use).
   */
  retire(id: bigint, retiredCode: string, nowMs: number): Promise<void>;
}
