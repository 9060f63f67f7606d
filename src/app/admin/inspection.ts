import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import { isDeliveryMethod, isNotificationStatus } from "../../domain/notification-log.js";
import { isQueueStatus, QUEUE_STATUSES } from "../../domain/queue-item.js";
import { type Subscription, validateSubscriptionName } from "../../domain/subscription.js";
import type { NotificationLogFilter, SubscriptionStats } from "../ports/inspection-repository.js";
import type { Store } from "../ports/store.js";
import { encodePageToken, toPageRequest } from "./page-token.js";

export interface LogFilterInput {
  messageId: string;
  subscription: string;
  subscriberId: bigint;
  deliveryMethod: string;
  status: string;
  startMs?: number;
  endMs?: number;
}

/** Read-only views for operators: a subscription's queue rows, its vital numbers, the notification log. */
export class Inspection {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async listQueueItems(subscriptionName: string, status: string, pageSize: number, pageToken: string) {
    const subscription = await this.subscription("subscription", subscriptionName);
    if (status !== "" && !isQueueStatus(status)) {
      throw DomainError.invalid("status", `must be one of ${QUEUE_STATUSES.join(", ")}`);
    }
    const page = toPageRequest("queue_items", pageSize, pageToken);
    const result = await this.store.repos.inspection.listQueueItems(
      subscription.id,
      status === "" ? undefined : status,
      page,
    );
    return { items: result.items, nextPageToken: encodePageToken("queue_items", result.lastId) };
  }

  async subscriptionStats(name: string): Promise<SubscriptionStats> {
    const subscription = await this.subscription("name", name);
    return this.store.repos.inspection.subscriptionStats(subscription.id, this.clock.nowMs());
  }

  async listNotificationLogs(input: LogFilterInput, pageSize: number, pageToken: string) {
    const page = toPageRequest("notification_logs", pageSize, pageToken);
    const filter: NotificationLogFilter = {};
    if (input.messageId !== "") {
      if (!/^\d{1,19}$/.test(input.messageId))
        throw DomainError.invalid("message_id", "must be a message id");
      filter.messageId = BigInt(input.messageId);
    }
    if (input.subscription !== "")
      filter.subscriptionId = (await this.subscription("subscription", input.subscription)).id;
    if (input.subscriberId !== 0n) filter.subscriberId = input.subscriberId;
    if (input.deliveryMethod !== "") {
      if (!isDeliveryMethod(input.deliveryMethod))
        throw DomainError.invalid("delivery_method", "must be webhook, grpc or pull");
      filter.deliveryMethod = input.deliveryMethod;
    }
    if (input.status !== "") {
      if (!isNotificationStatus(input.status)) {
        throw DomainError.invalid("status", "must be pending, sent, failed or skipped");
      }
      filter.status = input.status;
    }
    if (input.startMs !== undefined) filter.startMs = input.startMs;
    if (input.endMs !== undefined) filter.endMs = input.endMs;
    const result = await this.store.repos.inspection.listNotificationLogs(filter, page);
    return { items: result.items, nextPageToken: encodePageToken("notification_logs", result.lastId) };
  }

  private async subscription(field: string, name: string): Promise<Subscription> {
    validateSubscriptionName(field, name);
    const found = await this.store.repos.subscriptions.findByName(name);
    if (!found) throw DomainError.notFound("subscription", name);
    return found;
  }
}
