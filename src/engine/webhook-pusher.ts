import type { DeliveryService } from "../app/delivery-service.js";
import type { PushSettlement } from "../app/push-settlement.js";
import type { SigningKeys, Store } from "../app/store.js";
import type { Clock } from "../domain/clock.js";
import type { Logger } from "../logger.js";
import { InflightLimiter } from "./inflight-limiter.js";
import { type PusherTuning, SubscriptionPusher } from "./subscription-pusher.js";
import type { Wakeups } from "./wakeups.js";
import type { WebhookClient } from "./webhook-client.js";

export interface WebhookPusherOptions {
  tuning: PusherTuning;
  /** Most push requests in flight on this instance. */
  maxInflight: number;
  /** How often the set of live, unpaused PUSH subscriptions is re-read, ms. */
  refreshMs: number;
  owner: string;
}

const SIGNING_KEYS_TTL_MS = 1_000;

/**
 * Runs one SubscriptionPusher per live, unpaused PUSH subscription, re-reading the set every
 * `refreshMs` (new subscriptions start, paused or deleted ones stop, changed settings apply).
 * Start and stop are idempotent; stop drains in-flight pushes for up to `drainMs`.
 */
export class WebhookPusher {
  private readonly pushers = new Map<bigint, SubscriptionPusher>();
  private readonly limiter: InflightLimiter;
  private readonly keys = new Map<bigint, { keys: SigningKeys; atMs: number }>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly store: Store,
    private readonly deliveries: DeliveryService,
    private readonly settlement: PushSettlement,
    private readonly client: WebhookClient,
    private readonly wakeups: Wakeups,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: WebhookPusherOptions,
  ) {
    this.limiter = new InflightLimiter(options.maxInflight);
  }

  /** Push requests in flight on this instance, across subscriptions. */
  get inflightCount(): number {
    return this.limiter.inFlight;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.scheduleRefresh(0);
  }

  async stop(drainMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.refreshing;
    await Promise.all([...this.pushers.values()].map((p) => p.stop(drainMs)));
    this.pushers.clear();
    await this.client.close();
  }

  /** Re-reads the PUSH subscriptions now (the interval does the same). */
  async refresh(): Promise<void> {
    const live = await this.store.repos.subscriptions.listPushActive();
    const seen = new Set<bigint>();
    for (const subscription of live) {
      seen.add(subscription.id);
      const existing = this.pushers.get(subscription.id);
      if (existing) {
        existing.update(subscription);
        continue;
      }
      const pusher = new SubscriptionPusher(subscription, {
        deliveries: this.deliveries,
        settlement: this.settlement,
        client: this.client,
        wakeups: this.wakeups,
        limiter: this.limiter,
        signingKeys: (id) => this.signingKeys(id),
        clock: this.clock,
        logger: this.logger,
        owner: this.options.owner,
        tuning: this.options.tuning,
      });
      this.pushers.set(subscription.id, pusher);
      pusher.start();
    }
    for (const [id, pusher] of this.pushers) {
      if (!seen.has(id)) {
        this.pushers.delete(id);
        void pusher.stop(this.options.tuning.timeoutMs);
      }
    }
  }

  private async signingKeys(subscriberId: bigint): Promise<SigningKeys> {
    const nowMs = Date.now();
    const cached = this.keys.get(subscriberId);
    if (cached && nowMs - cached.atMs < SIGNING_KEYS_TTL_MS) return cached.keys;
    const keys = await this.store.repos.subscribers.findSigningKeys(subscriberId);
    if (!keys) throw new Error(`subscriber ${subscriberId} has no signing keys`);
    this.keys.set(subscriberId, { keys, atMs: nowMs });
    return keys;
  }

  private scheduleRefresh(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.refreshing = this.refresh()
        .catch((error: unknown) => this.logger.warn("push subscription refresh failed", { error }))
        .finally(() => {
          this.refreshing = undefined;
          this.scheduleRefresh(this.options.refreshMs);
        });
    }, delayMs);
  }
}
