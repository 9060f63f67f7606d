import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import { validateNameAndDescription } from "../../domain/publisher.js";
import type { CodedEntityPatch } from "../ports/coded-entity-patch.js";
import type { Repositories, Store } from "../ports/store.js";
import { encodePageToken, toPageRequest } from "./page-token.js";

/** What differs between publisher and topic administration. */
export interface CodedEntityRules<T> {
  /** Singular noun used in errors ("publisher", "topic") and in page tokens. */
  what: "publisher" | "topic";
  validateCode(field: string, code: string): void;
  repository(repos: Repositories): CodedEntityRepositoryPort<T>;
  /** Throws FAILED_PRECONDITION when the entity may not be deleted. */
  assertDeletable(repos: Repositories, entity: T): Promise<void>;
  /** Issues the entity's credential on create (publishers get an API key), in the same transaction. */
  issueCredential?(repos: Repositories, entity: T, nowMs: number): Promise<string>;
  /** Removes what belongs to the entity (its API keys) when it is deleted. */
  onDelete?(repos: Repositories, entity: T): Promise<void>;
}

export interface CodedEntityRepositoryPort<T> {
  insert(entity: { code: string; name: string; description: string }, nowMs: number): Promise<T>;
  findByCode(code: string): Promise<T | undefined>;
  list(page: { afterId: bigint | null; limit: number }): Promise<{ items: T[]; lastId: bigint | null }>;
  update(id: bigint, patch: CodedEntityPatch, nowMs: number): Promise<T>;
  delete(id: bigint): Promise<void>;
}

/**
 * Create/Get/List/Update/Delete for the two entities identified by a unique code (publishers and
 * topics): one implementation, parameterised by their rules, instead of two copies.
 */
export class CodedEntityAdmin<T extends { id: bigint; name: string; description: string }> {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly rules: CodedEntityRules<T>,
  ) {}

  /**
   * Creates the entity; `credential` is its API key when the rules issue one (shown once).
   * `within` runs in the same transaction (e.g. a publisher's topic grants).
   */
  async create(
    input: {
      code: string;
      name: string;
      description: string;
    },
    within?: (repos: Repositories, entity: T) => Promise<void>,
  ): Promise<{ entity: T; credential: string }> {
    this.rules.validateCode("code", input.code);
    validateNameAndDescription(input.name, input.description);
    return this.store.transaction(async (repos) => {
      const nowMs = this.clock.nowMs();
      const entity = await this.rules.repository(repos).insert(input, nowMs);
      await within?.(repos, entity);
      const credential = this.rules.issueCredential
        ? await this.rules.issueCredential(repos, entity, nowMs)
        : "";
      return { entity, credential };
    });
  }

  async get(code: string): Promise<T> {
    return this.getIn(this.store.repos, code);
  }

  async list(pageSize: number, pageToken: string): Promise<{ items: T[]; nextPageToken: string }> {
    const page = toPageRequest(this.listName(), pageSize, pageToken);
    const result = await this.rules.repository(this.store.repos).list(page);
    return { items: result.items, nextPageToken: encodePageToken(this.listName(), result.lastId) };
  }

  /** Updates the entity; `within` runs in the same transaction before the update. */
  async update(
    code: string,
    patch: CodedEntityPatch,
    within?: (repos: Repositories, entity: T) => Promise<void>,
  ): Promise<T> {
    return this.store.transaction(async (repos) => {
      const current = await this.getIn(repos, code);
      validateNameAndDescription(patch.name ?? current.name, patch.description ?? current.description);
      await within?.(repos, current);
      return this.rules.repository(repos).update(current.id, patch, this.clock.nowMs());
    });
  }

  async delete(code: string): Promise<void> {
    await this.store.transaction(async (repos) => {
      const current = await this.getIn(repos, code);
      await this.rules.assertDeletable(repos, current);
      await this.rules.onDelete?.(repos, current);
      await this.rules.repository(repos).delete(current.id);
    });
  }

  /** Runs `work` on the entity named by `code` inside a transaction (NOT_FOUND when unknown). */
  async withEntity<R>(
    code: string,
    work: (repos: Repositories, entity: T, nowMs: number) => Promise<R>,
  ): Promise<R> {
    return this.store.transaction(async (repos) =>
      work(repos, await this.getIn(repos, code), this.clock.nowMs()),
    );
  }

  private async getIn(repos: Repositories, code: string): Promise<T> {
    // The code's own format first: on MySQL a lookup would otherwise ignore trailing spaces.
    this.rules.validateCode("code", code);
    const found = await this.rules.repository(repos).findByCode(code);
    if (!found) throw DomainError.notFound(this.rules.what, code);
    return found;
  }

  private listName(): string {
    return `${this.rules.what}s`;
  }
}
