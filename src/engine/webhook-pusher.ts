import type { DeliveryService } from "../app/consume/delivery-service.js";
import type { Store } from "../app/ports/store.js";
import type { SigningKeys } from "../app/ports/subscriber-repository.js";
import type { Tracing } from "../app/ports/tracing.js";
import type { PushSettlement } from "../app/push/push-settlement.js";
import type { Clock } from "../domain/clock.js";
import type { Subscription } from "../domain/subscription.js";
import type { Logger } from "../logger.js";
import type { BackgroundService } from "./background-service.js";
import { InflightLimiter } from "./inflight-limiter.js";
import { PeriodicTask } from "./periodic-task.js";
import { type PusherTuning, SubscriptionPusher } from "./subscription-pusher.js";
import type { Wakeups } from "./wakeups.js";
import type { WebhookClient } from "./webhook-client.js";

export interface WebhookPusherParams {
  store: Store;
  /** Time pushes spent waiting for their rate-limit slot (metrics). */
  onThrottled?: (subscription: Subscription, waitedMs: number) => void;
  /** Signs OIDC push tokens for subscriptions that ask for them. */
  oidc: { tokenFor(subscription: Subscription): Promise<{ token: string; claims: { exp: number } }> };
  deliveries: DeliveryService;
  settlement: PushSettlement;
  client: WebhookClient;
  wakeups: Wakeups;
  clock: Clock;
  logger: Logger;
  tuning: PusherTuning;
  /** Most push requests in flight on this instance. */
  maxInflight: number;
  /** How often the set of live, unpaused PUSH subscriptions is re-read, ms. */
  refreshMs: number;
  /** How long stop lets in-flight pushes finish (and records their outcomes), ms. */
  drainMs: number;
  owner: string;
  /** Each push attempt's span (tracing on); default none. */
  tracing?: Tracing;
}

const SIGNING_KEYS_TTL_MS = 1_000;
/** A cached push token is replaced once less than this is left of its hour. */
const TOKEN_REUSE_MARGIN_MS = 50 * 60 * 1000;

/**
 * Runs one SubscriptionPusher per live, unpaused PUSH subscription, re-reading the set every
 * `refreshMs` (new subscriptions start, paused or deleted ones stop, changed settings apply).
 * Start and stop are idempotent; stop drains in-flight pushes for up to `drainMs`.
 */
export class WebhookPusher implements BackgroundService {
  private readonly pushers = new Map<bigint, SubscriptionPusher>();
  private readonly limiter: InflightLimiter;
  private readonly keys = new Map<bigint, { keys: SigningKeys; atMs: number }>();
  private readonly tokens = new Map<bigint, { token: string; expiresAtMs: number; updatedAtMs: number }>();
  private readonly staticHeaders = new Map<
    bigint,
    { headers: Record<string, string>; atMs: number; updatedAtMs: number }
  >();
  private readonly task: PeriodicTask;
  private closing: Promise<void> | undefined;

  constructor(private readonly params: WebhookPusherParams) {
    this.limiter = new InflightLimiter(params.maxInflight);
    this.task = new PeriodicTask(
      "push subscription refresh",
      () => this.refresh(),
      params.logger,
      params.refreshMs,
    );
  }

  /** Push requests in flight on this instance, across subscriptions. */
  get inflightCount(): number {
    return this.limiter.inFlight;
  }

  /** The concurrency window of each running push subscription, by subscription id. */
  windowSizes(): Map<bigint, number> {
    return new Map([...this.pushers].map(([id, pusher]) => [id, pusher.windowSize]));
  }

  /** Starts the pushers of the current PUSH subscriptions at once, then re-reads them every `refreshMs`. */
  start(): void {
    this.task.start();
    this.task.nudge();
  }

  async stop(): Promise<void> {
    await this.task.stop();
    await Promise.all([...this.pushers.values()].map((p) => p.stop(this.params.drainMs)));
    this.pushers.clear();
    // Once: the client's connection pool cannot be closed twice.
    this.closing ??= this.params.client.close();
    await this.closing;
  }

  /** Re-reads the PUSH subscriptions now (the interval does the same). */
  async refresh(): Promise<void> {
    const live = await this.params.store.repos.subscriptions.listPushActive();
    const seen = new Set<bigint>();
    for (const subscription of live) {
      seen.add(subscription.id);
      const existing = this.pushers.get(subscription.id);
      if (existing && !existing.isStopped) {
        existing.update(subscription);
        continue;
      }
      // A pusher that stopped itself (its subscription was paused) and was resumed before this
      // refresh saw the pause: replace it, or the subscription would never be pushed again.
      if (existing) void existing.stop(this.params.tuning.timeoutMs);
      const { deliveries, settlement, client, wakeups, clock, logger, owner, tuning } = this.params;
      const pusher = new SubscriptionPusher(subscription, {
        deliveries,
        settlement,
        client,
        wakeups,
        limiter: this.limiter,
        signingKeys: (id) => this.signingKeys(id),
        authHeaders: (sub) => this.authHeaders(sub),
        rateSlots: this.params.store.repos.pushRateSlots,
        onThrottled: (sub, waitedMs) => this.params.onThrottled?.(sub, waitedMs),
        clock,
        logger,
        owner,
        tuning,
        ...(this.params.tracing ? { tracing: this.params.tracing } : {}),
      });
      this.pushers.set(subscription.id, pusher);
      pusher.start();
    }
    for (const [id, pusher] of this.pushers) {
      if (!seen.has(id)) {
        this.pushers.delete(id);
        this.staticHeaders.delete(id);
        this.tokens.delete(id);
        void pusher.stop(this.params.tuning.timeoutMs);
      }
    }
  }

  /**
   * Static headers of the subscription, cached as briefly as signing keys and dropped as soon as the
   * pusher sees a newer version of the subscription (an update applies with the next refresh).
   */
  private async authHeaders(subscription: Subscription): Promise<Record<string, string>> {
    const headers = await this.staticHeadersOf(subscription);
    if (subscription.oidcServiceAccountEmail === "") return headers;
    return { ...headers, authorization: `Bearer ${await this.tokenOf(subscription)}` };
  }

  /**
   * A push token for the subscription, reused while it has more than TOKEN_REUSE_MARGIN_MS left (as
   * Google's are; a receiver sees the same token for a while) and until the subscription changes.
   */
  private async tokenOf(subscription: Subscription): Promise<string> {
    const nowMs = this.params.clock.nowMs();
    const cached = this.tokens.get(subscription.id);
    if (
      cached &&
      cached.updatedAtMs === subscription.updatedAtMs &&
      cached.expiresAtMs - nowMs > TOKEN_REUSE_MARGIN_MS
    )
      return cached.token;
    const { token, claims } = await this.params.oidc.tokenFor(subscription);
    this.tokens.set(subscription.id, {
      token,
      expiresAtMs: claims.exp * 1000,
      updatedAtMs: subscription.updatedAtMs,
    });
    return token;
  }

  private async staticHeadersOf(subscription: Subscription): Promise<Record<string, string>> {
    if (subscription.pushHeaderNames.length === 0) return {};
    const nowMs = Date.now();
    const cached = this.staticHeaders.get(subscription.id);
    if (
      cached &&
      cached.updatedAtMs === subscription.updatedAtMs &&
      nowMs - cached.atMs < SIGNING_KEYS_TTL_MS
    )
      return cached.headers;
    const headers = await this.params.store.repos.subscriptions.findPushHeaders(subscription.id);
    this.staticHeaders.set(subscription.id, { headers, atMs: nowMs, updatedAtMs: subscription.updatedAtMs });
    return headers;
  }

  private async signingKeys(subscriberId: bigint): Promise<SigningKeys> {
    const nowMs = Date.now();
    const cached = this.keys.get(subscriberId);
    if (cached && nowMs - cached.atMs < SIGNING_KEYS_TTL_MS) return cached.keys;
    const keys = await this.params.store.repos.subscribers.findSigningKeys(subscriberId);
    if (!keys) throw new Error(`subscriber ${subscriberId} has no signing keys`);
    this.keys.set(subscriberId, { keys, atMs: nowMs });
    return keys;
  }
}
