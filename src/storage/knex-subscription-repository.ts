import type { Knex } from "knex";
import { PLAIN_SECRETS, type SecretSealer } from "../app/auth/secret-box.js";
import type { Page, PageRequest } from "../app/ports/paging.js";
import type {
  NewSubscription,
  SubscriptionFilter,
  SubscriptionPatch,
  SubscriptionRepository,
} from "../app/ports/subscription-repository.js";
import { DomainError } from "../domain/domain-error.js";
import { normalizePushHeaders, type PushHeaders } from "../domain/push-headers.js";
import {
  callbackUrlFor,
  type DeliveryType,
  type PushPayload,
  type Subscription,
} from "../domain/subscription.js";
import type { Dialect } from "./dialect.js";
import { pageById } from "./page-query.js";
import { idParam, toBigInt, toBoolean, toNumber, toNumberOrNull } from "./row-values.js";

interface SubscriptionRow {
  id: unknown;
  name: string;
  subscriber_id: unknown;
  topic_id: unknown;
  topic_code: string;
  subscriber_webhook_url: string;
  identifier_filter: string;
  delivery_type: string;
  push_endpoint: string;
  ack_deadline_seconds: unknown;
  max_delivery_attempts: unknown;
  min_backoff_ms: unknown;
  max_backoff_ms: unknown;
  message_ttl_ms: unknown;
  enable_ordering: unknown;
  is_active: unknown;
  created_at_ms: unknown;
  updated_at_ms: unknown;
  deleted_at_ms: unknown;
  paused_at_ms: unknown;
  pause_reason: string | null;
  push_failing_since_ms: unknown;
  last_push_success_at_ms: unknown;
  attribute_filter: string;
  push_payload: string;
  dead_letter_topic_id: unknown;
  dead_letter_topic_code: string | null;
  pubsub_project: string;
  retain_acked_messages: unknown;
  enable_exactly_once_delivery: unknown;
  retry_schedule_ms: string | null;
  push_header_names: string | null;
  oidc_service_account_email: string;
  oidc_audience: string;
  push_rate_limit_per_second: unknown;
}

/** A retry schedule as stored: comma-separated whole ms; "" (or NULL, rows before 0007) for none. */
function scheduleToColumn(scheduleMs: readonly number[]): string {
  return scheduleMs.join(",");
}

function scheduleFromColumn(value: string | null): number[] {
  return value === null || value === "" ? [] : value.split(",").map(Number);
}

function toSubscription(row: SubscriptionRow): Subscription {
  return {
    id: toBigInt(row.id),
    name: row.name,
    subscriberId: toBigInt(row.subscriber_id),
    topicId: toBigInt(row.topic_id),
    topicCode: row.topic_code,
    identifierFilter: row.identifier_filter,
    deliveryType: row.delivery_type as DeliveryType,
    pushEndpoint: row.push_endpoint,
    ackDeadlineSeconds: toNumber(row.ack_deadline_seconds),
    maxDeliveryAttempts: toNumber(row.max_delivery_attempts),
    minBackoffMs: toNumber(row.min_backoff_ms),
    maxBackoffMs: toNumber(row.max_backoff_ms),
    retryScheduleMs: scheduleFromColumn(row.retry_schedule_ms),
    oidcServiceAccountEmail: row.oidc_service_account_email,
    oidcAudience: row.oidc_audience,
    pushRateLimitPerSecond: toNumber(row.push_rate_limit_per_second),
    messageTtlMs: toNumber(row.message_ttl_ms),
    enableOrdering: toBoolean(row.enable_ordering),
    isActive: toBoolean(row.is_active),
    createdAtMs: toNumber(row.created_at_ms),
    updatedAtMs: toNumber(row.updated_at_ms),
    deletedAtMs: toNumberOrNull(row.deleted_at_ms),
    callbackUrl: callbackUrlFor(row.push_endpoint, row.subscriber_webhook_url),
    pausedAtMs: toNumberOrNull(row.paused_at_ms),
    pauseReason: row.pause_reason,
    pushFailingSinceMs: toNumberOrNull(row.push_failing_since_ms),
    lastPushSuccessAtMs: toNumberOrNull(row.last_push_success_at_ms),
    attributeFilter: row.attribute_filter,
    pushPayload: row.push_payload as PushPayload,
    deadLetterTopicId: row.dead_letter_topic_id === null ? null : toBigInt(row.dead_letter_topic_id),
    deadLetterTopicCode: row.dead_letter_topic_code,
    pubsubProject: row.pubsub_project,
    retainAckedMessages: toBoolean(row.retain_acked_messages),
    enableExactlyOnceDelivery: toBoolean(row.enable_exactly_once_delivery),
    pushHeaderNames:
      row.push_header_names === null || row.push_header_names === "" ? [] : row.push_header_names.split(","),
  };
}

const SETTINGS_COLUMNS: Record<
  Exclude<keyof SubscriptionPatch, "deadLetterTopicId" | "retryScheduleMs" | "pushHeaders">,
  string
> = {
  identifierFilter: "identifier_filter",
  pushEndpoint: "push_endpoint",
  ackDeadlineSeconds: "ack_deadline_seconds",
  maxDeliveryAttempts: "max_delivery_attempts",
  minBackoffMs: "min_backoff_ms",
  maxBackoffMs: "max_backoff_ms",
  messageTtlMs: "message_ttl_ms",
  enableOrdering: "enable_ordering",
  attributeFilter: "attribute_filter",
  pushPayload: "push_payload",
  deliveryType: "delivery_type",
  retainAckedMessages: "retain_acked_messages",
  enableExactlyOnceDelivery: "enable_exactly_once_delivery",
  oidcServiceAccountEmail: "oidc_service_account_email",
  oidcAudience: "oidc_audience",
  pushRateLimitPerSecond: "push_rate_limit_per_second",
};

/**
 * Static push headers pass through `secrets` on their way in and out (sealed as one JSON object
 * with HERALD_SECRET_KEYS); `s.*` never carries them out of this file except through findPushHeaders.
 */
export class KnexSubscriptionRepository implements SubscriptionRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly dialect: Dialect,
    private readonly secrets: SecretSealer = PLAIN_SECRETS,
  ) {}

  /** The two columns a static header set is stored in: names in the clear, the whole set sealed. */
  private headerColumns(headers: PushHeaders): Record<string, string | null> {
    const normalized = normalizePushHeaders(headers);
    const names = Object.keys(normalized);
    if (names.length === 0) return { push_header_names: null, push_headers_sealed: null };
    return {
      push_header_names: names.join(","),
      push_headers_sealed: this.secrets.seal(JSON.stringify(normalized)),
    };
  }

  /** Subscriptions joined with their topic code and subscriber webhook (for the callback URL). */
  private selectFull(): Knex.QueryBuilder {
    return this.db("subscriptions as s")
      .join("topics as t", "t.id", "s.topic_id")
      .join("subscribers as sb", "sb.id", "s.subscriber_id")
      .leftJoin("topics as dt", "dt.id", "s.dead_letter_topic_id")
      .select(
        "s.*",
        "t.code as topic_code",
        "sb.webhook_url as subscriber_webhook_url",
        "dt.code as dead_letter_topic_code",
      );
  }

  async insert(subscription: NewSubscription, nowMs: number): Promise<Subscription> {
    const row: Record<string, unknown> = {
      name: subscription.name,
      live_name: subscription.name,
      pubsub_project: subscription.pubsubProject,
      dead_letter_topic_id:
        subscription.deadLetterTopicId === null ? null : idParam(subscription.deadLetterTopicId),
      subscriber_id: idParam(subscription.subscriberId),
      topic_id: idParam(subscription.topicId),
      identifier_pattern: this.dialect.identifierPattern(subscription.identifierFilter),
      delivery_type: subscription.deliveryType,
      is_active: true,
      created_at_ms: nowMs,
      updated_at_ms: nowMs,
      deleted_at_ms: null,
      retry_schedule_ms: scheduleToColumn(subscription.retryScheduleMs),
      ...this.headerColumns(subscription.pushHeaders ?? {}),
    };
    for (const [key, column] of Object.entries(SETTINGS_COLUMNS)) {
      row[column] = subscription[key as keyof NewSubscription];
    }
    try {
      const [id] = await this.db("subscriptions").insert(row);
      return this.getById(toBigInt(id));
    } catch (err) {
      if (this.dialect.isDuplicateKey(err))
        throw DomainError.alreadyExists("subscription", subscription.name);
      throw err;
    }
  }

  /** The live subscription of that name, else the most recently deleted one. */
  async findByName(name: string): Promise<Subscription | undefined> {
    const row = (await this.selectFull()
      .where("s.name", name)
      .orderByRaw("CASE WHEN s.deleted_at_ms IS NULL THEN 0 ELSE 1 END, s.id DESC")
      .first()) as SubscriptionRow | undefined;
    return row ? toSubscription(row) : undefined;
  }

  async findById(id: bigint): Promise<Subscription | undefined> {
    const row = (await this.selectFull().where("s.id", idParam(id)).first()) as SubscriptionRow | undefined;
    return row ? toSubscription(row) : undefined;
  }

  list(page: PageRequest, filter: SubscriptionFilter): Promise<Page<Subscription>> {
    const query = this.selectFull();
    if (filter.topicId !== undefined) query.where("s.topic_id", idParam(filter.topicId));
    if (filter.subscriberId !== undefined) query.where("s.subscriber_id", idParam(filter.subscriberId));
    if (!filter.showDeleted) query.whereNull("s.deleted_at_ms");
    return pageById(query, page, toSubscription, "s.id");
  }

  async update(id: bigint, patch: SubscriptionPatch, nowMs: number): Promise<Subscription> {
    const changes: Record<string, unknown> = { updated_at_ms: nowMs };
    for (const [key, column] of Object.entries(SETTINGS_COLUMNS)) {
      const value = patch[key as keyof SubscriptionPatch];
      if (value !== undefined) changes[column] = value;
    }
    if (patch.retryScheduleMs !== undefined)
      changes.retry_schedule_ms = scheduleToColumn(patch.retryScheduleMs);
    if (patch.pushHeaders !== undefined) Object.assign(changes, this.headerColumns(patch.pushHeaders));
    if (patch.identifierFilter !== undefined) {
      changes.identifier_pattern = this.dialect.identifierPattern(patch.identifierFilter);
    }
    if (patch.deadLetterTopicId !== undefined) {
      changes.dead_letter_topic_id =
        patch.deadLetterTopicId === null ? null : idParam(patch.deadLetterTopicId);
    }
    await this.db("subscriptions")
      .where({ id: idParam(id) })
      .update(changes);
    return this.getById(id);
  }

  async softDelete(id: bigint, nowMs: number): Promise<boolean> {
    const changed = await this.db("subscriptions")
      .where({ id: idParam(id) })
      .whereNull("deleted_at_ms")
      .update({ is_active: false, live_name: null, deleted_at_ms: nowMs, updated_at_ms: nowMs });
    return changed > 0;
  }

  async countBySubscriber(subscriberId: bigint): Promise<number> {
    return this.count(this.db("subscriptions").where("subscriber_id", idParam(subscriberId)));
  }

  async countByTopic(topicId: bigint): Promise<number> {
    return this.count(this.db("subscriptions").where("topic_id", idParam(topicId)));
  }

  async countDelivered(id: bigint): Promise<number> {
    return this.count(this.db("queue_items").where({ subscription_id: idParam(id), status: "sent" }));
  }

  async listPushActive(): Promise<Subscription[]> {
    const rows = (await this.selectFull()
      .where("s.delivery_type", "push")
      .whereNull("s.deleted_at_ms")
      .whereNull("s.paused_at_ms")
      .where("sb.is_active", true)
      .orderBy("s.id")) as SubscriptionRow[];
    return rows.map(toSubscription);
  }

  async pause(id: bigint, reason: string, nowMs: number): Promise<boolean> {
    const changed = await this.db("subscriptions")
      .where({ id: idParam(id) })
      .whereNull("paused_at_ms")
      .update({ paused_at_ms: nowMs, pause_reason: reason.slice(0, 512), updated_at_ms: nowMs });
    return changed > 0;
  }

  async resume(id: bigint, nowMs: number): Promise<void> {
    await this.db("subscriptions")
      .where({ id: idParam(id) })
      .update({ paused_at_ms: null, pause_reason: null, push_failing_since_ms: null, updated_at_ms: nowMs });
  }

  async recordPushHealth(id: bigint, succeeded: boolean, nowMs: number): Promise<number | null> {
    if (succeeded) {
      await this.db("subscriptions")
        .where({ id: idParam(id) })
        .update({ push_failing_since_ms: null, last_push_success_at_ms: nowMs });
      return null;
    }
    await this.db("subscriptions")
      .where({ id: idParam(id) })
      .whereNull("push_failing_since_ms")
      .update({ push_failing_since_ms: nowMs });
    const row = (await this.db("subscriptions")
      .select("push_failing_since_ms")
      .where({ id: idParam(id) })
      .first()) as { push_failing_since_ms: unknown } | undefined;
    return row ? toNumberOrNull(row.push_failing_since_ms) : null;
  }

  async findPushHeaders(id: bigint): Promise<Record<string, string>> {
    const row = (await this.db("subscriptions")
      .select("push_headers_sealed")
      .where({ id: idParam(id) })
      .first()) as { push_headers_sealed: string | null } | undefined;
    if (!row || row.push_headers_sealed === null) return {};
    return JSON.parse(this.secrets.open(row.push_headers_sealed)) as Record<string, string>;
  }

  async resealPushHeaders(): Promise<number> {
    let resealed = 0;
    let afterId = 0n;
    for (;;) {
      const rows = (await this.db("subscriptions")
        .select("id", "push_headers_sealed")
        .whereNotNull("push_headers_sealed")
        .where("id", ">", idParam(afterId))
        .orderBy("id")
        .limit(500)) as { id: unknown; push_headers_sealed: string }[];
      for (const row of rows) {
        const stored = row.push_headers_sealed;
        if (!this.secrets.needsReseal(stored)) continue;
        // Guarded by the value read: a concurrent change of the headers wins over the reseal.
        resealed += await this.db("subscriptions")
          .where({ id: idParam(toBigInt(row.id)), push_headers_sealed: stored })
          .update({ push_headers_sealed: this.secrets.seal(this.secrets.open(stored)) });
      }
      const last = rows.at(-1);
      if (!last) return resealed;
      afterId = toBigInt(last.id);
    }
  }

  private async count(query: Knex.QueryBuilder): Promise<number> {
    const row = (await query.count({ n: "*" }).first()) as { n: unknown } | undefined;
    return row ? toNumber(row.n) : 0;
  }

  private async getById(id: bigint): Promise<Subscription> {
    const found = await this.findById(id);
    if (!found) throw DomainError.notFound("subscription", id.toString());
    return found;
  }
}
