/** Storage port of publishers. */
import type { NewPublisher, Publisher } from "../../domain/publisher.js";
import type { CodedEntityPatch } from "./coded-entity-patch.js";
import type { Page, PageRequest } from "./paging.js";

export interface PublisherRepository {
  /** Throws ALREADY_EXISTS when the code is taken. */
  insert(publisher: NewPublisher, nowMs: number): Promise<Publisher>;
  findByCode(code: string): Promise<Publisher | undefined>;
  findById(id: bigint): Promise<Publisher | undefined>;
  list(page: PageRequest): Promise<Page<Publisher>>;
  update(id: bigint, patch: PublisherPatch, nowMs: number): Promise<Publisher>;
  delete(id: bigint): Promise<void>;
  hasMessages(id: bigint): Promise<boolean>;
}

export type PublisherPatch = CodedEntityPatch;
