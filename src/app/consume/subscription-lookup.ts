import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import { type DeliveryType, type Subscription, validateSubscriptionName } from "../../domain/subscription.js";
import type { Store } from "../ports/store.js";

/**
 * Resolves the `subscription` field of consumer calls. Acks arrive many times a second per
 * subscription, so resolved subscriptions are cached briefly (`ttlMs`): a delete or settings change
 * reaches consumers within that time.
 */
export class SubscriptionLookup {
  private readonly cache = new Map<string, { subscription: Subscription; atMs: number }>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly ttlMs = 1_000,
  ) {}

  /** A live subscription of the given delivery type; NOT_FOUND when unknown or deleted. */
  async require(name: string, deliveryType: DeliveryType): Promise<Subscription> {
    validateSubscriptionName("subscription", name);
    const nowMs = this.clock.nowMs();
    const cached = this.cache.get(name);
    let subscription = cached && nowMs - cached.atMs < this.ttlMs ? cached.subscription : undefined;
    if (!subscription) {
      subscription = await this.store.repos.subscriptions.findByName(name);
      if (subscription) {
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(name, { subscription, atMs: nowMs });
      } else {
        this.cache.delete(name);
      }
    }
    if (!subscription || subscription.deletedAtMs !== null) throw DomainError.notFound("subscription", name);
    if (subscription.deliveryType !== deliveryType) {
      throw DomainError.precondition(
        "WRONG_DELIVERY_TYPE",
        `subscription "${name}" is a ${subscription.deliveryType.toUpperCase()} subscription`,
      );
    }
    return subscription;
  }

  /** Subscription by id for background work (sweeper), uncached. */
  async byId(id: bigint): Promise<Subscription | undefined> {
    return this.store.repos.subscriptions.findById(id);
  }
}
