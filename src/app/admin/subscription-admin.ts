import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import { validateExactlyOnceDelivery } from "../../domain/exactly-once.js";
import { type PushHeaders, validatePushHeaders } from "../../domain/push-headers.js";
import { changeRetrySettings, chooseRetrySettings } from "../../domain/retry-schedule.js";
import { validateWebhookUrl } from "../../domain/subscriber.js";
import {
  callbackUrlFor,
  type DeliveryType,
  type PushPayload,
  pushPayloadFrom,
  SUBSCRIPTION_DEFAULTS,
  type Subscription,
  type SubscriptionFull,
  type SubscriptionSettings,
  validateSubscriptionName,
  validateSubscriptionSettings,
} from "../../domain/subscription.js";
import { requirePrintable } from "../../domain/text-limits.js";
import { validateTopicCode } from "../../domain/topic.js";
import type { Repositories, Store } from "../ports/store.js";
import type { SubscriptionPatch } from "../ports/subscription-repository.js";
import { encodePageToken, toPageRequest } from "./page-token.js";
import { topicFilterId } from "./topic-filter.js";

export interface CreateSubscriptionInput extends Partial<Omit<SubscriptionSettings, "deadLetterTopicId">> {
  name: string;
  subscriberId: bigint;
  topicCode: string;
  deliveryType: DeliveryType;
  /** Topic code dead letters are also published to; "" or absent for none. */
  deadLetterTopic?: string;
  /** Set by the Pub/Sub compatibility API: the project the client named. */
  pubsubProject?: string;
  /** Static headers added to every push; write-only (stored sealed, never returned). */
  pushHeaders?: PushHeaders;
  /** Herald's API form of the push body shape (else `pushPayload`, or wrapped). */
  noWrapper?: boolean;
  writeMetadata?: boolean;
}

/** A change of settings; `deadLetterTopic` "" clears it. */
export interface UpdateSubscriptionInput extends Omit<SubscriptionPatch, "deadLetterTopicId"> {
  deadLetterTopic?: string;
  /** Switches between push and pull (Pub/Sub ModifyPushConfig). */
  deliveryType?: DeliveryType;
  /** Replaces every static push header ({} removes them). */
  pushHeaders?: PushHeaders;
  noWrapper?: boolean;
  writeMetadata?: boolean;
}

export interface ListSubscriptionsInput {
  pageSize: number;
  pageToken: string;
  topicCode?: string;
  subscriberId?: bigint;
  showDeleted: boolean;
}

/** Create/Get/List/Update/soft-Delete of subscriptions, with their delivered-message counts. */
export class SubscriptionAdmin {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly urlPolicy: { allowHttp: boolean },
  ) {}

  async create(input: CreateSubscriptionInput): Promise<Subscription> {
    validateSubscriptionName("name", input.name);
    if (input.subscriberId <= 0n) throw DomainError.invalid("subscriber_id", "is required");
    validateTopicCode("topic", input.topicCode);
    const settings: SubscriptionSettings = {
      ...SUBSCRIPTION_DEFAULTS,
      identifierFilter: "",
      pushEndpoint: "",
      deadLetterTopicId: null,
      ...definedOnly(input),
      ...chooseRetrySettings(input.deliveryType, input, SUBSCRIPTION_DEFAULTS.messageTtlMs),
    };
    if (input.noWrapper !== undefined || input.writeMetadata !== undefined) {
      settings.pushPayload = pushPayloadFrom(input.noWrapper ?? false, input.writeMetadata ?? false);
    }
    validateSubscriptionSettings(settings);
    validateExactlyOnceDelivery(input.deliveryType, settings.enableExactlyOnceDelivery);
    validateWebhookUrl("push_endpoint", settings.pushEndpoint, this.urlPolicy);
    if (input.pushHeaders !== undefined) validatePushHeaders("push_headers", input.pushHeaders);
    requireOneAuthorization(Object.keys(input.pushHeaders ?? {}), settings.oidcServiceAccountEmail);
    return this.store.transaction(async (repos) => {
      const subscriber = await repos.subscribers.findById(input.subscriberId);
      if (!subscriber) throw DomainError.notFound("subscriber", input.subscriberId.toString());
      const topic = await repos.topics.findByCode(input.topicCode);
      if (!topic) throw DomainError.notFound("topic", input.topicCode);
      settings.deadLetterTopicId = await resolveDeadLetterTopic(repos, input.deadLetterTopic);
      if (
        input.deliveryType === "push" &&
        callbackUrlFor(settings.pushEndpoint, subscriber.webhookUrl) === ""
      ) {
        throw DomainError.invalid(
          "push_endpoint",
          "a PUSH subscription needs push_endpoint or a subscriber webhook_url",
        );
      }
      return repos.subscriptions.insert(
        {
          ...settings,
          name: input.name,
          subscriberId: subscriber.id,
          topicId: topic.id,
          deliveryType: input.deliveryType,
          pubsubProject: input.pubsubProject ?? "",
          ...(input.pushHeaders !== undefined ? { pushHeaders: input.pushHeaders } : {}),
        },
        this.clock.nowMs(),
      );
    });
  }

  async get(name: string): Promise<SubscriptionFull> {
    const subscription = await this.getIn(this.store.repos, name);
    const messageCount = await this.store.repos.subscriptions.countDelivered(subscription.id);
    return { subscription, messageCount };
  }

  /** The subscription (live or deleted) without the delivered count `get` adds. */
  async find(name: string): Promise<Subscription> {
    return this.getIn(this.store.repos, name);
  }

  async list(input: ListSubscriptionsInput): Promise<{ items: Subscription[]; nextPageToken: string }> {
    const page = toPageRequest("subscriptions", input.pageSize, input.pageToken);
    const topicId = await topicFilterId(this.store.repos, input.topicCode);
    const result = await this.store.repos.subscriptions.list(page, {
      ...(topicId !== undefined ? { topicId } : {}),
      ...(input.subscriberId !== undefined && input.subscriberId !== 0n
        ? { subscriberId: input.subscriberId }
        : {}),
      showDeleted: input.showDeleted,
    });
    return { items: result.items, nextPageToken: encodePageToken("subscriptions", result.lastId) };
  }

  async update(name: string, patch: UpdateSubscriptionInput): Promise<Subscription> {
    return this.store.transaction(async (repos) => {
      const current = await this.getIn(repos, name);
      if (current.deletedAtMs !== null) {
        throw DomainError.precondition("SUBSCRIPTION_DELETED", `subscription "${name}" is deleted`);
      }
      const changes: SubscriptionPatch = { ...definedOnly(patch), ...changeRetrySettings(patch) };
      if (patch.deadLetterTopic !== undefined) {
        changes.deadLetterTopicId = await resolveDeadLetterTopic(repos, patch.deadLetterTopic);
      }
      if (patch.deliveryType !== undefined) changes.deliveryType = patch.deliveryType;
      if (patch.noWrapper !== undefined || patch.writeMetadata !== undefined) {
        changes.pushPayload = changedPushPayload(current.pushPayload, patch);
      }
      if (patch.pushHeaders !== undefined) {
        validatePushHeaders("push_headers", patch.pushHeaders);
        changes.pushHeaders = patch.pushHeaders;
      }
      requireOneAuthorization(
        patch.pushHeaders !== undefined ? Object.keys(patch.pushHeaders) : current.pushHeaderNames,
        changes.oidcServiceAccountEmail ?? current.oidcServiceAccountEmail,
      );
      validateSubscriptionSettings({ ...current, ...changes });
      if (changes.pushEndpoint !== undefined)
        validateWebhookUrl("push_endpoint", changes.pushEndpoint, this.urlPolicy);
      const deliveryType = changes.deliveryType ?? current.deliveryType;
      validateExactlyOnceDelivery(
        deliveryType,
        changes.enableExactlyOnceDelivery ?? current.enableExactlyOnceDelivery,
      );
      const pushEndpoint = changes.pushEndpoint ?? current.pushEndpoint;
      if (deliveryType === "push" && pushEndpoint === "") {
        const subscriber = await repos.subscribers.findById(current.subscriberId);
        if (!subscriber || subscriber.webhookUrl === "") {
          throw DomainError.invalid(
            "push_endpoint",
            "a PUSH subscription needs push_endpoint or a subscriber webhook_url",
          );
        }
      }
      return repos.subscriptions.update(current.id, changes, this.clock.nowMs());
    });
  }

  /** Soft delete (the row stays for audit); a second delete reports NOT_FOUND, as for an unknown name. */
  async delete(name: string): Promise<void> {
    const current = await this.getIn(this.store.repos, name);
    if (!(await this.store.repos.subscriptions.softDelete(current.id, this.clock.nowMs()))) {
      throw DomainError.notFound("subscription", name);
    }
  }

  /** Stops push delivery (messages keep queueing); FAILED_PRECONDITION for PULL or deleted subscriptions. */
  async pause(name: string, reason: string): Promise<Subscription> {
    requirePrintable("reason", reason);
    return this.store.transaction(async (repos) => {
      const current = await this.requirePushIn(repos, name);
      await repos.subscriptions.pause(
        current.id,
        reason === "" ? "paused by an admin" : reason,
        this.clock.nowMs(),
      );
      return this.getIn(repos, name);
    });
  }

  /** Resumes push delivery; the backlog is delivered. */
  async resume(name: string): Promise<Subscription> {
    return this.store.transaction(async (repos) => {
      const current = await this.requirePushIn(repos, name);
      await repos.subscriptions.resume(current.id, this.clock.nowMs());
      return this.getIn(repos, name);
    });
  }

  private async requirePushIn(repos: Repositories, name: string): Promise<Subscription> {
    const current = await this.getIn(repos, name);
    if (current.deletedAtMs !== null) {
      throw DomainError.precondition("SUBSCRIPTION_DELETED", `subscription "${name}" is deleted`);
    }
    if (current.deliveryType !== "push") {
      throw DomainError.precondition(
        "WRONG_DELIVERY_TYPE",
        `subscription "${name}" is not a PUSH subscription`,
      );
    }
    return current;
  }

  private async getIn(repos: Repositories, name: string): Promise<Subscription> {
    validateSubscriptionName("name", name);
    const found = await repos.subscriptions.findByName(name);
    if (!found) throw DomainError.notFound("subscription", name);
    return found;
  }
}

/** The body shape after a change of `no_wrapper`/`write_metadata`; an unset flag keeps its value (metadata ends with the wrapper). */
function changedPushPayload(
  current: PushPayload,
  patch: { noWrapper?: boolean; writeMetadata?: boolean },
): PushPayload {
  const noWrapper = patch.noWrapper ?? current !== "wrapped";
  const writeMetadata = patch.writeMetadata ?? (noWrapper && current === "unwrapped_metadata");
  return pushPayloadFrom(noWrapper, writeMetadata);
}

/** An OIDC token is sent as `authorization`: a static header of that name would be silently replaced. */
function requireOneAuthorization(headerNames: readonly string[], oidcServiceAccountEmail: string): void {
  if (oidcServiceAccountEmail !== "" && headerNames.some((n) => n.toLowerCase() === "authorization")) {
    throw DomainError.invalid("oidc_token", "cannot be combined with a static authorization push header");
  }
}

/** The id of the named dead-letter topic; null for "" or absent. */
async function resolveDeadLetterTopic(repos: Repositories, code: string | undefined): Promise<bigint | null> {
  if (code === undefined || code === "") return null;
  validateTopicCode("dead_letter_topic", code);
  const topic = await repos.topics.findByCode(code);
  if (!topic) throw DomainError.notFound("topic", code);
  return topic.id;
}

/**
 * Drops keys whose value is undefined, so spreading a patch never overwrites with undefined. The
 * retry schedule is left to chooseRetrySettings/changeRetrySettings, which decide it with the bounds.
 */
function definedOnly<T extends object>(value: T): Partial<SubscriptionSettings> {
  const out: Record<string, unknown> = {};
  const settingKeys: (keyof SubscriptionSettings)[] = [
    "identifierFilter",
    "pushEndpoint",
    "ackDeadlineSeconds",
    "maxDeliveryAttempts",
    "minBackoffMs",
    "maxBackoffMs",
    "messageTtlMs",
    "enableOrdering",
    "attributeFilter",
    "pushPayload",
    "retainAckedMessages",
    "enableExactlyOnceDelivery",
    "oidcServiceAccountEmail",
    "oidcAudience",
    "pushRateLimitPerSecond",
  ];
  for (const key of settingKeys) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out as Partial<SubscriptionSettings>;
}
