import type { Delivery, DeliveryService } from "../app/consume/delivery-service.js";
import type { SigningKeys } from "../app/ports/subscriber-repository.js";
import { noTracing, type Tracing } from "../app/ports/tracing.js";
import type { PushOutcome, PushSettlement } from "../app/push/push-settlement.js";
import type { Clock } from "../domain/clock.js";
import { classifyPushResponse, type PushVerdict } from "../domain/push-outcome.js";
import { retryAfterBounds } from "../domain/retry-schedule.js";
import type { Subscription } from "../domain/subscription.js";
import type { Logger } from "../logger.js";
import type { BackgroundService } from "./background-service.js";
import type { InflightLimiter } from "./inflight-limiter.js";
import { PushWindow } from "./push-window.js";
import type { Wakeups } from "./wakeups.js";
import type { WebhookClient } from "./webhook-client.js";
import { pushRequest, signedHeaders, webhookId } from "./webhook-payload.js";

export interface PusherTuning {
  /** Push request timeout cap; the subscription's ack deadline caps it further. */
  timeoutMs: number;
  /** Largest concurrency window; the window starts small, grows by one per success, halves on failure (once per round trip). */
  windowMax: number;
  pollMinMs: number;
  pollMaxMs: number;
}

export interface PusherDeps {
  deliveries: DeliveryService;
  settlement: PushSettlement;
  client: WebhookClient;
  wakeups: Wakeups;
  limiter: InflightLimiter;
  signingKeys(subscriberId: bigint): Promise<SigningKeys>;
  /** Headers the subscription's own authentication adds to every push (static headers, OIDC token); {} for none. */
  authHeaders(subscription: Subscription): Promise<Record<string, string>>;
  /** Send slots shared by every instance (push_rate_limit_per_second); see PushRateSlotRepository. */
  rateSlots: {
    reserve(subscriptionId: bigint, count: number, intervalMs: number, nowMs: number): Promise<number>;
  };
  /** A push waited this long for its rate-limit slot (for metrics). */
  onThrottled(subscription: Subscription, waitedMs: number): void;
  clock: Clock;
  logger: Logger;
  owner: string;
  tuning: PusherTuning;
  /** Each push attempt's span (tracing on); default none. */
  tracing?: Tracing;
}

/** Extra lease time beyond the request timeout, so a finished push is recorded before its lease can expire. */
const LEASE_MARGIN_MS = 15_000;
/**
 * Lease time a push must still have, beyond its whole-request timeout, when it starts: the time
 * to record its outcome. A push with less (its batch waited too long) is given back unsent, so no
 * request ever outlives its lease and races a redelivery of the same message.
 */
export const SETTLE_MARGIN_MS = 5_000;
const INITIAL_WINDOW = 4;
const FLUSH_LINGER_MS = 3;

/**
 * Pushes one PUSH subscription's queue to its endpoint with an adaptive concurrency window (as
 * Pub/Sub's push window: grows on success, shrinks on failure). Each subscription has its own
 * loop and window, so a slow or failing endpoint only slows itself. Outcomes are recorded in
 * batches: while one batch is being written the next accumulates.
 */
export class SubscriptionPusher implements BackgroundService {
  private readonly window: PushWindow;
  private inflight = 0;
  /** Of the in-flight pushes, those waiting for their rate-limit slot. */
  private waiting = 0;
  private readonly outcomes: PushOutcome[] = [];
  private settling: Promise<void> | undefined;
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly idle = new Set<() => void>();
  private wakeRoom: (() => void) | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly sleepers = new Set<() => void>();

  constructor(
    private subscription: Subscription,
    private readonly deps: PusherDeps,
  ) {
    this.window = new PushWindow(INITIAL_WINDOW, deps.tuning.windowMax);
    this.controller.signal.addEventListener(
      "abort",
      () => {
        for (const wake of [...this.sleepers]) wake();
      },
      { once: true },
    );
  }

  get current(): Subscription {
    return this.subscription;
  }

  /** The concurrency window now (for metrics and tests). */
  get windowSize(): number {
    return this.window.size;
  }

  /** Whether a push is waiting for its rate-limit slot (for tests). */
  get isWaitingForSlot(): boolean {
    return this.waiting > 0;
  }

  /** True once stopped, including by itself when its subscription was paused. */
  get isStopped(): boolean {
    return this.controller.signal.aborted;
  }

  update(subscription: Subscription): void {
    this.subscription = subscription;
  }

  start(): void {
    this.loop ??= this.run().catch((error: unknown) => {
      this.deps.logger.error("pusher stopped unexpectedly", { subscription: this.subscription.name, error });
    });
  }

  /**
   * Stops claiming, lets in-flight pushes finish for up to `drainMs` (default: the push timeout),
   * and records their outcomes.
   */
  async stop(drainMs = this.deps.tuning.timeoutMs): Promise<void> {
    this.controller.abort();
    await this.loop;
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.idle.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flush();
  }

  private async run(): Promise<void> {
    const { deliveries, wakeups, limiter, tuning } = this.deps;
    const signal = this.controller.signal;
    let pollMs = tuning.pollMinMs;
    while (!signal.aborted) {
      const window = this.window.size;
      // Pushes waiting for a rate-limit slot hold no connection: the window counts those sending, and
      // at most about a second of slots waits, so the next batch is claimed before the slots run out.
      let room = Math.min(window - (this.inflight - this.waiting), limiter.available);
      const pacedAhead = Math.ceil(this.subscription.pushRateLimitPerSecond);
      if (pacedAhead > 0) room = Math.min(room, pacedAhead - this.waiting);
      // Refill in batches: claiming each time one push finishes would spend a transaction per message.
      const worthClaiming = this.inflight === 0 ? 1 : Math.max(1, Math.floor(window / 4));
      if (room < worthClaiming) {
        await Promise.race([
          limiter.waitForRoom(tuning.pollMaxMs, signal),
          new Promise<void>((resolve) => {
            this.wakeRoom = resolve;
          }),
        ]);
        this.wakeRoom = undefined;
        continue;
      }
      const sub = this.subscription;
      let batch: Delivery[];
      // Taken before the claim: a publish committing while the claim runs must still wake us.
      const mark = wakeups.mark(sub.id, sub.topicId);
      const leaseMs = this.timeoutMs() + LEASE_MARGIN_MS;
      // Read before the claim, so the lease is known to end no earlier than this.
      const leaseEndsAtMs = this.deps.clock.nowMs() + leaseMs;
      try {
        batch = await deliveries.claim(sub, {
          owner: this.deps.owner,
          method: "webhook",
          // Rate-limited: about a second's worth at a time, so claimed messages do not wait out their lease.
          max: Math.min(
            room,
            100,
            sub.pushRateLimitPerSecond > 0 ? Math.ceil(sub.pushRateLimitPerSecond) : 100,
          ),
          leaseMs,
        });
      } catch (error) {
        this.deps.logger.warn("push claim failed", { subscription: sub.name, error });
        await wakeups.wait(sub.id, sub.topicId, tuning.pollMaxMs, signal);
        continue;
      }
      if (batch.length === 0) {
        await wakeups.wait(sub.id, sub.topicId, pollMs, signal, mark);
        pollMs = Math.min(pollMs * 2, tuning.pollMaxMs);
        continue;
      }
      pollMs = tuning.pollMinMs;
      limiter.acquire(batch.length);
      this.inflight += batch.length;
      let keys: SigningKeys;
      let authHeaders: Record<string, string>;
      let slotsAtMs: number[] | undefined;
      try {
        keys = await this.deps.signingKeys(sub.subscriberId);
        authHeaders = await this.deps.authHeaders(sub);
        slotsAtMs = await this.reserveSlots(sub, batch.length);
      } catch (error) {
        // The error names what failed, never a header value.
        this.deps.logger.warn("could not load push credentials", { subscription: sub.name, error });
        await deliveries.unclaim(batch.map((d) => d.ref)).catch(() => undefined);
        this.finished(batch.length);
        continue;
      }
      batch.forEach((delivery, i) => {
        void this.push(sub, delivery, { keys, authHeaders }, leaseEndsAtMs, slotsAtMs?.[i]);
      });
    }
  }

  /** Send times for `count` pushes under the subscription's rate limit (undefined: no limit). */
  private async reserveSlots(sub: Subscription, count: number): Promise<number[] | undefined> {
    if (sub.pushRateLimitPerSecond <= 0) return undefined;
    const intervalMs = 1000 / sub.pushRateLimitPerSecond;
    const firstMs = await this.deps.rateSlots.reserve(sub.id, count, intervalMs, this.deps.clock.nowMs());
    return Array.from({ length: count }, (_, i) => firstMs + i * intervalMs);
  }

  /** Waits `ms`; false when the pusher stopped meanwhile. */
  /**
   * Resolves true after `ms`, false at once when the pusher stops. Every push waiting for its
   * rate-limit slot sleeps here at the same time (up to the window), so the stop signal gets one
   * listener for all of them rather than one each.
   */
  private sleep(ms: number): Promise<boolean> {
    if (this.controller.signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.sleepers.delete(wake);
        resolve(true);
      }, ms);
      this.sleepers.add(wake);
    });
  }

  private timeoutMs(): number {
    return Math.min(this.subscription.ackDeadlineSeconds * 1000, this.deps.tuning.timeoutMs);
  }

  private async push(
    sub: Subscription,
    delivery: Delivery,
    credentials: { keys: SigningKeys; authHeaders: Record<string, string> },
    leaseEndsAtMs: number,
    slotAtMs?: number,
  ): Promise<void> {
    const { client, clock } = this.deps;
    const timeoutMs = this.timeoutMs();
    // Waiting for a rate-limit slot is not an attempt: a push whose slot comes too late for its
    // lease, or whose pusher stops while it waits, is given back uncounted below.
    const waitMs = slotAtMs === undefined ? 0 : Math.max(0, slotAtMs - clock.nowMs());
    const fitsAfterWait = leaseEndsAtMs - (clock.nowMs() + waitMs) >= timeoutMs + SETTLE_MARGIN_MS;
    let isStopped = false;
    if (waitMs > 0 && fitsAfterWait) {
      this.waiting += 1;
      isStopped = !(await this.sleep(waitMs));
      this.waiting -= 1;
      this.wakeRoom?.();
      this.deps.onThrottled(sub, waitMs);
    }
    if (isStopped || !fitsAfterWait || leaseEndsAtMs - clock.nowMs() < timeoutMs + SETTLE_MARGIN_MS) {
      this.record({
        ref: delivery.ref,
        verdict: { kind: "retry", retryAfterMs: null },
        httpStatus: null,
        detail: "not pushed: too little of its lease was left",
        durationMs: 0,
        givenBack: true,
      });
      return;
    }
    const ticket = this.window.started();
    let verdict: PushVerdict;
    let outcome: PushOutcome;
    try {
      const { body, headers } = pushRequest(sub, delivery);
      // With tracing on the request carries traceparent/tracestate, so the receiver joins the trace.
      const tracing = this.deps.tracing ?? noTracing;
      const res = await tracing.push(sub.name, delivery.message, sub.callbackUrl, (traceHeaders) =>
        client.send({
          url: sub.callbackUrl,
          body,
          // The subscription's own headers win over attribute headers (the publisher's); the signature last.
          headers: {
            ...headers,
            ...traceHeaders,
            ...credentials.authHeaders,
            ...signedHeaders(webhookId(sub.id, delivery.message.id), body, credentials.keys, clock.nowMs()),
          },
          timeoutMs,
        }),
      );
      verdict =
        res.status === null
          ? { kind: "retry", retryAfterMs: null }
          : classifyPushResponse(res.status, res.retryAfter, clock.nowMs(), retryAfterBounds(sub));
      outcome = {
        ref: delivery.ref,
        verdict,
        httpStatus: res.status,
        detail: res.detail,
        durationMs: res.durationMs,
      };
    } catch (error) {
      verdict = { kind: "retry", retryAfterMs: null };
      outcome = {
        ref: delivery.ref,
        verdict,
        httpStatus: null,
        detail: `push failed: ${String(error)}`,
        durationMs: 0,
      };
    }
    if (verdict.kind === "ack") this.window.succeeded();
    else this.window.failed(ticket);
    this.record(outcome);
  }

  private record(outcome: PushOutcome): void {
    this.outcomes.push(outcome);
    this.finished(1);
    this.scheduleFlush();
  }

  /** Outcomes linger a moment so that one transaction records many of them. */
  private scheduleFlush(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, FLUSH_LINGER_MS);
  }

  private finished(n: number): void {
    this.inflight -= n;
    this.deps.limiter.release(n);
    this.wakeRoom?.();
    if (this.inflight === 0) for (const resolve of [...this.idle]) resolve();
  }

  /** Writes accumulated outcomes; one write at a time, so outcomes batch up while one is running. */
  private async flush(): Promise<void> {
    while (this.settling) await this.settling;
    if (this.outcomes.length === 0) return;
    const batch = this.outcomes.splice(0, this.outcomes.length);
    this.settling = (async () => {
      try {
        const paused = await this.deps.settlement.settle(this.subscription, batch);
        if (paused !== null) {
          this.deps.logger.warn("push subscription paused", {
            subscription: this.subscription.name,
            reason: paused,
          });
          this.controller.abort();
        }
      } catch (error) {
        // The leases stay; they expire and the sweeper turns them into retries.
        this.deps.logger.warn("recording push outcomes failed", {
          subscription: this.subscription.name,
          error,
        });
      }
    })();
    await this.settling;
    this.settling = undefined;
  }
}
