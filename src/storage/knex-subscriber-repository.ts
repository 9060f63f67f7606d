import type { Knex } from "knex";
import type { Page, PageRequest, SubscriberPatch, SubscriberRepository } from "../app/store.js";
import { DomainError } from "../domain/domain-error.js";
import type { NewSubscriber, Subscriber } from "../domain/subscriber.js";
import { pageById } from "./page-query.js";
import { idParam, toBigInt, toBoolean, toNumber } from "./row-values.js";

interface SubscriberRow {
  id: unknown;
  client_id: unknown;
  name: string;
  webhook_url: string;
  is_active: unknown;
  created_at_ms: unknown;
  updated_at_ms: unknown;
}

function toSubscriber(row: SubscriberRow): Subscriber {
  return {
    id: toBigInt(row.id),
    clientId: toBigInt(row.client_id),
    name: row.name,
    webhookUrl: row.webhook_url,
    isActive: toBoolean(row.is_active),
    createdAtMs: toNumber(row.created_at_ms),
    updatedAtMs: toNumber(row.updated_at_ms),
  };
}

export class KnexSubscriberRepository implements SubscriberRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async insert(subscriber: NewSubscriber, nowMs: number): Promise<Subscriber> {
    const [id] = await this.db("subscribers").insert({
      client_id: idParam(subscriber.clientId),
      name: subscriber.name,
      webhook_url: subscriber.webhookUrl,
      is_active: true,
      created_at_ms: nowMs,
      updated_at_ms: nowMs,
    });
    return this.getById(toBigInt(id));
  }

  async findById(id: bigint): Promise<Subscriber | undefined> {
    const row = (await this.db("subscribers")
      .where({ id: idParam(id) })
      .first()) as SubscriberRow | undefined;
    return row ? toSubscriber(row) : undefined;
  }

  list(page: PageRequest, filter: { clientId?: bigint }): Promise<Page<Subscriber>> {
    const query = this.db("subscribers").select("*");
    if (filter.clientId !== undefined) query.where("client_id", idParam(filter.clientId));
    return pageById(query, page, toSubscriber);
  }

  async update(id: bigint, patch: SubscriberPatch, nowMs: number): Promise<Subscriber> {
    const changes: Record<string, unknown> = { updated_at_ms: nowMs };
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.webhookUrl !== undefined) changes.webhook_url = patch.webhookUrl;
    if (patch.isActive !== undefined) changes.is_active = patch.isActive;
    await this.db("subscribers")
      .where({ id: idParam(id) })
      .update(changes);
    return this.getById(id);
  }

  async delete(id: bigint): Promise<void> {
    await this.db("subscribers")
      .where({ id: idParam(id) })
      .delete();
  }

  private async getById(id: bigint): Promise<Subscriber> {
    const found = await this.findById(id);
    if (!found) throw DomainError.notFound("subscriber", id.toString());
    return found;
  }
}
