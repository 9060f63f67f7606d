/** Storage port of subscriptions. */
import type { PushHeaders } from "../../domain/push-headers.js";
import type { DeliveryType, Subscription, SubscriptionSettings } from "../../domain/subscription.js";
import type { Page, PageRequest } from "./paging.js";

export interface NewSubscription extends SubscriptionSettings {
  name: string;
  subscriberId: bigint;
  topicId: bigint;
  deliveryType: DeliveryType;
  pubsubProject: string;
  /** Static push headers, stored sealed; absent or empty for none. */
  pushHeaders?: PushHeaders;
}

/** `pushHeaders` replaces every static header ({} removes them); absent leaves them. */
export type SubscriptionPatch = Partial<SubscriptionSettings> & {
  deliveryType?: DeliveryType;
  pushHeaders?: PushHeaders;
};

export interface SubscriptionFilter {
  topicId?: bigint;
  subscriberId?: bigint;
  showDeleted?: boolean;
}

export interface SubscriptionRepository {
  /** Throws ALREADY_EXISTS when a live subscription has the name (a deleted one's name may be reused). */
  insert(subscription: NewSubscription, nowMs: number): Promise<Subscription>;
  findByName(name: string): Promise<Subscription | undefined>;
  findById(id: bigint): Promise<Subscription | undefined>;
  list(page: PageRequest, filter: SubscriptionFilter): Promise<Page<Subscription>>;
  update(id: bigint, patch: SubscriptionPatch, nowMs: number): Promise<Subscription>;
  /** Soft delete (the row stays for audit); returns false when it was already deleted. */
  softDelete(id: bigint, nowMs: number): Promise<boolean>;
  /** Number of subscriptions (live or deleted) of a subscriber. */
  countBySubscriber(subscriberId: bigint): Promise<number>;
  /** Number of subscriptions (live or deleted) of a topic. */
  countByTopic(topicId: bigint): Promise<number>;
  /** Messages delivered (acked) on the subscription. */
  countDelivered(id: bigint): Promise<number>;
  /** Live, unpaused PUSH subscriptions whose subscriber is active: what the pusher serves. */
  listPushActive(): Promise<Subscription[]>;
  /** Pauses push delivery with a reason (no-op when already paused); returns whether it changed. */
  pause(id: bigint, reason: string, nowMs: number): Promise<boolean>;
  /** Resumes push delivery and forgets the failing run. */
  resume(id: bigint, nowMs: number): Promise<void>;
  /**
   * Records the outcome of a batch of pushes for endpoint health: a success clears the failing
   * run; a failure starts one if none is running. Returns when the current failing run started.
   */
  recordPushHealth(id: bigint, succeeded: boolean, nowMs: number): Promise<number | null>;
  /** The subscription's static push headers, opened ({} when none): for the pusher only. */
  findPushHeaders(id: bigint): Promise<Record<string, string>>;
  /** Seals every stored push-header set again under the first key where needed; returns how many. */
  resealPushHeaders(): Promise<number>;
}
