import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import type { Subscription } from "../../domain/subscription.js";
import { validateSubscriptionName } from "../../domain/subscription.js";
import type { Principal } from "../auth/principal.js";
import type { DeadLetterAdmin } from "../dead-letters/dead-letter-admin.js";
import type { DeadLetterView } from "../ports/dead-letter-admin-repository.js";
import type { MinuteDeliveries } from "../ports/delivery-history-repository.js";
import type { SubscriptionStats } from "../ports/inspection-repository.js";
import type { Store } from "../ports/store.js";
import type { Inspection } from "./inspection.js";
import type { SubscriptionAdmin } from "./subscription-admin.js";

const MINUTE_MS = 60_000;
/** Chart windows: one minute to one day; an hour by default. */
const HISTORY_MINUTES = Object.freeze({ default: 60, max: 1440 });
/** Subscriptions per page of the portal list: each one costs three aggregate queries. */
const SUMMARY_PAGE = Object.freeze({ default: 50, max: 100 });

export interface CallerView {
  kind: "open" | "admin" | "subscriber";
  subscriberId: bigint;
  subscriberName: string;
}

/**
 * The console's reads, scoped to the caller: an admin token (or authentication off) sees every
 * subscription; a subscriber key sees only its own subscriber's, and another subscriber's
 * subscription answers NOT_FOUND exactly like a missing one (a key cannot probe for names).
 * Publisher keys never get here (the service is on the consume surface).
 */
export class ConsoleViews {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly inspection: Inspection,
    private readonly subscriptions: SubscriptionAdmin,
    private readonly deadLetters: DeadLetterAdmin,
  ) {}

  async caller(principal: Principal): Promise<CallerView> {
    if (principal.kind !== "subscriber") {
      return { kind: principal.kind === "admin" ? "admin" : "open", subscriberId: 0n, subscriberName: "" };
    }
    const subscriber = await this.store.repos.subscribers.findById(principal.subscriberId);
    return {
      kind: "subscriber",
      subscriberId: principal.subscriberId,
      subscriberName: subscriber?.name ?? "",
    };
  }

  /** Every minute of the window ending with the current minute, oldest first, empty minutes as zeros. */
  async deliveryHistory(
    principal: Principal,
    subscription: string,
    minutes: number,
  ): Promise<MinuteDeliveries[]> {
    if (!Number.isInteger(minutes) || minutes < 0 || minutes > HISTORY_MINUTES.max) {
      throw DomainError.invalid(
        "minutes",
        `must be between 0 and ${HISTORY_MINUTES.max} (0 means ${HISTORY_MINUTES.default})`,
      );
    }
    const count = minutes === 0 ? HISTORY_MINUTES.default : minutes;
    const nowMs = this.clock.nowMs();
    const sinceMs = nowMs - (nowMs % MINUTE_MS) - (count - 1) * MINUTE_MS;
    const scope =
      subscription !== ""
        ? { subscriptionId: (await this.visibleSubscription(principal, "subscription", subscription)).id }
        : principal.kind === "subscriber"
          ? { subscriberId: principal.subscriberId }
          : {};
    const counted = await this.store.repos.deliveryHistory.deliveriesPerMinute({ ...scope, sinceMs });
    const byMinute = new Map(counted.map((m) => [m.minuteStartMs, m]));
    return Array.from({ length: count }, (_, i) => {
      const minuteStartMs = sinceMs + i * MINUTE_MS;
      return byMinute.get(minuteStartMs) ?? { minuteStartMs, sent: 0, failed: 0 };
    });
  }

  async listSubscriptions(principal: Principal, pageSize: number, pageToken: string) {
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > SUMMARY_PAGE.max) {
      throw DomainError.invalid(
        "page_size",
        `must be between 0 and ${SUMMARY_PAGE.max} (0 means ${SUMMARY_PAGE.default})`,
      );
    }
    const page = await this.subscriptions.list({
      pageSize: pageSize === 0 ? SUMMARY_PAGE.default : pageSize,
      pageToken,
      ...(principal.kind === "subscriber" ? { subscriberId: principal.subscriberId } : {}),
      showDeleted: false,
    });
    const nowMs = this.clock.nowMs();
    const items: Array<{ subscription: Subscription; stats: SubscriptionStats }> = [];
    for (const subscription of page.items) {
      items.push({
        subscription,
        stats: await this.store.repos.inspection.subscriptionStats(subscription.id, nowMs),
      });
    }
    return { items, nextPageToken: page.nextPageToken };
  }

  async listDeliveries(
    principal: Principal,
    subscription: string,
    status: string,
    pageSize: number,
    pageToken: string,
  ) {
    await this.visibleSubscription(principal, "subscription", subscription);
    return this.inspection.listNotificationLogs(
      { messageId: "", subscription, subscriberId: 0n, deliveryMethod: "", status },
      pageSize,
      pageToken,
    );
  }

  async listDeadLetters(
    principal: Principal,
    subscription: string,
    resolved: boolean | undefined,
    pageSize: number,
    pageToken: string,
  ) {
    await this.visibleSubscription(principal, "subscription", subscription);
    return this.deadLetters.list(
      { subscription, failureReason: "", ...(resolved !== undefined ? { resolved } : {}) },
      pageSize,
      pageToken,
    );
  }

  /** A dead letter with its message's attributes (empty once retention pruned the message). */
  async getDeadLetter(
    principal: Principal,
    id: bigint,
  ): Promise<{ deadLetter: DeadLetterView; attributes: Record<string, string> }> {
    const deadLetter = await this.deadLetters.get(id);
    if (principal.kind === "subscriber") {
      const owner = await this.store.repos.subscriptions.findById(deadLetter.subscriptionId);
      if (owner?.subscriberId !== principal.subscriberId)
        throw DomainError.notFound("dead letter", id.toString());
    }
    const message = await this.store.repos.messages.findById(deadLetter.messageId);
    return { deadLetter, attributes: message?.attributes ?? {} };
  }

  private async visibleSubscription(
    principal: Principal,
    field: string,
    name: string,
  ): Promise<Subscription> {
    if (name === "") throw DomainError.invalid(field, "is required");
    validateSubscriptionName(field, name);
    const found = await this.store.repos.subscriptions.findByName(name);
    if (!found || (principal.kind === "subscriber" && found.subscriberId !== principal.subscriberId)) {
      throw DomainError.notFound("subscription", name);
    }
    return found;
  }
}
