import type { Clock } from "../domain/clock.js";
import { DomainError } from "../domain/domain-error.js";
import { validateWebhookUrl } from "../domain/subscriber.js";
import {
  callbackUrlFor,
  type DeliveryType,
  SUBSCRIPTION_DEFAULTS,
  type Subscription,
  type SubscriptionFull,
  type SubscriptionSettings,
  validateSubscriptionName,
  validateSubscriptionSettings,
} from "../domain/subscription.js";
import { requirePrintable } from "../domain/text-limits.js";
import { validateTopicCode } from "../domain/topic.js";
import { encodePageToken, toPageRequest } from "./page-token.js";
import type { Repositories, Store, SubscriptionPatch } from "./store.js";

export interface CreateSubscriptionInput extends Partial<SubscriptionSettings> {
  name: string;
  subscriberId: bigint;
  topicCode: string;
  deliveryType: DeliveryType;
}

export interface ListSubscriptionsInput {
  pageSize: number;
  pageToken: string;
  topicCode?: string;
  subscriberId?: bigint;
  showDeleted: boolean;
}

/** Create/Get/List/Update/soft-Delete of subscriptions (the seed's `Subscription` and `SubscriptionFull`). */
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
      ...definedOnly(input),
    };
    validateSubscriptionSettings(settings);
    validateWebhookUrl("push_endpoint", settings.pushEndpoint, this.urlPolicy);
    return this.store.transaction(async (repos) => {
      const subscriber = await repos.subscribers.findById(input.subscriberId);
      if (!subscriber) throw DomainError.notFound("subscriber", input.subscriberId.toString());
      const topic = await repos.topics.findByCode(input.topicCode);
      if (!topic) throw DomainError.notFound("topic", input.topicCode);
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

  async list(input: ListSubscriptionsInput): Promise<{ items: Subscription[]; nextPageToken: string }> {
    const page = toPageRequest("subscriptions", input.pageSize, input.pageToken);
    let topicId: bigint | undefined;
    if (input.topicCode !== undefined && input.topicCode !== "") {
      validateTopicCode("topic", input.topicCode);
      const topic = await this.store.repos.topics.findByCode(input.topicCode);
      if (!topic) throw DomainError.notFound("topic", input.topicCode);
      topicId = topic.id;
    }
    const result = await this.store.repos.subscriptions.list(page, {
      ...(topicId !== undefined ? { topicId } : {}),
      ...(input.subscriberId !== undefined && input.subscriberId !== 0n
        ? { subscriberId: input.subscriberId }
        : {}),
      showDeleted: input.showDeleted,
    });
    return { items: result.items, nextPageToken: encodePageToken("subscriptions", result.lastId) };
  }

  async update(name: string, patch: SubscriptionPatch): Promise<Subscription> {
    return this.store.transaction(async (repos) => {
      const current = await this.getIn(repos, name);
      if (current.deletedAtMs !== null) {
        throw DomainError.precondition("SUBSCRIPTION_DELETED", `subscription "${name}" is deleted`);
      }
      const changes = definedOnly(patch);
      validateSubscriptionSettings({ ...current, ...changes });
      if (changes.pushEndpoint !== undefined)
        validateWebhookUrl("push_endpoint", changes.pushEndpoint, this.urlPolicy);
      if (current.deliveryType === "push" && changes.pushEndpoint === "") {
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

  /** The seed's soft delete; a second delete reports NOT_FOUND, as for an unknown name. */
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

/** Drops keys whose value is undefined, so spreading a patch never overwrites with undefined. */
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
  ];
  for (const key of settingKeys) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out as Partial<SubscriptionSettings>;
}
