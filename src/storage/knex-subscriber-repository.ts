import type { Knex } from "knex";
import { PLAIN_SECRETS, type SecretSealer } from "../app/auth/secret-box.js";
import type { Page, PageRequest } from "../app/ports/paging.js";
import type {
  SigningKeys,
  SubscriberPatch,
  SubscriberRepository,
} from "../app/ports/subscriber-repository.js";
import { DomainError } from "../domain/domain-error.js";
import type { NewSubscriber, Subscriber } from "../domain/subscriber.js";
import { pageById } from "./page-query.js";
import { idParam, toBigInt, toBoolean, toNumber, toNumberOrNull } from "./row-values.js";

interface SubscriberRow {
  id: unknown;
  client_id: unknown;
  name: string;
  webhook_url: string;
  is_active: unknown;
  created_at_ms: unknown;
  updated_at_ms: unknown;
}

/** Everything but the signing secrets, which only findSigningKeys reads. */
const PUBLIC_COLUMNS = [
  "id",
  "client_id",
  "name",
  "webhook_url",
  "is_active",
  "created_at_ms",
  "updated_at_ms",
];

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

/**
 * Signing secrets pass through `secrets` on their way in and out (sealed with HERALD_SECRET_KEYS
 * when configured); nothing else in Herald sees their stored form.
 */
export class KnexSubscriberRepository implements SubscriberRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly secrets: SecretSealer = PLAIN_SECRETS,
  ) {}

  async insert(subscriber: NewSubscriber, signingSecret: string, nowMs: number): Promise<Subscriber> {
    const [id] = await this.db("subscribers").insert({
      client_id: idParam(subscriber.clientId),
      name: subscriber.name,
      webhook_url: subscriber.webhookUrl,
      signing_secret: this.secrets.seal(signingSecret),
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

  async findByName(clientId: bigint, name: string): Promise<Subscriber | undefined> {
    const row = (await this.db("subscribers")
      .select(PUBLIC_COLUMNS)
      .where({ client_id: idParam(clientId), name })
      .orderBy("id")
      .first()) as SubscriberRow | undefined;
    return row ? toSubscriber(row) : undefined;
  }

  list(page: PageRequest, filter: { clientId?: bigint }): Promise<Page<Subscriber>> {
    const query = this.db("subscribers").select(PUBLIC_COLUMNS);
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

  async findSigningKeys(id: bigint): Promise<SigningKeys | undefined> {
    const row = (await this.db("subscribers")
      .select("signing_secret", "previous_signing_secret", "previous_secret_expires_at_ms")
      .where({ id: idParam(id) })
      .first()) as
      | {
          signing_secret: string;
          previous_signing_secret: string | null;
          previous_secret_expires_at_ms: unknown;
        }
      | undefined;
    if (!row) return undefined;
    return {
      current: this.secrets.open(row.signing_secret),
      previous: row.previous_signing_secret === null ? null : this.secrets.open(row.previous_signing_secret),
      previousExpiresAtMs: toNumberOrNull(row.previous_secret_expires_at_ms),
    };
  }

  async rotateSigningSecret(
    id: bigint,
    secret: string,
    previousExpiresAtMs: number,
    nowMs: number,
  ): Promise<void> {
    await this.db("subscribers")
      .where({ id: idParam(id) })
      .update({
        previous_signing_secret: this.db.ref("signing_secret"),
        previous_secret_expires_at_ms: previousExpiresAtMs,
        signing_secret: this.secrets.seal(secret),
        updated_at_ms: nowMs,
      });
  }

  async resealSigningSecrets(): Promise<number> {
    let resealed = 0;
    let afterId = 0n;
    for (;;) {
      const rows = (await this.db("subscribers")
        .select("id", "signing_secret", "previous_signing_secret")
        .where("id", ">", idParam(afterId))
        .orderBy("id")
        .limit(500)) as { id: unknown; signing_secret: string; previous_signing_secret: string | null }[];
      if (rows.length === 0) return resealed;
      for (const row of rows) {
        const current = row.signing_secret;
        const previous = row.previous_signing_secret;
        const isStale =
          this.secrets.needsReseal(current) || (previous !== null && this.secrets.needsReseal(previous));
        if (!isStale) continue;
        // Conditional on the values read: a rotation committed meanwhile is not overwritten.
        const changed = await this.db("subscribers")
          .where({ id: idParam(toBigInt(row.id)), signing_secret: current })
          .andWhere((q) =>
            previous === null
              ? q.whereNull("previous_signing_secret")
              : q.where("previous_signing_secret", previous),
          )
          .update({
            signing_secret: this.secrets.seal(this.secrets.open(current)),
            previous_signing_secret:
              previous === null ? null : this.secrets.seal(this.secrets.open(previous)),
          });
        resealed += Number(changed);
      }
      afterId = toBigInt(rows[rows.length - 1]?.id);
    }
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
