import type { Subscription } from "../domain/subscription.js";
import type { WaitHandle, WakeupMark, Wakeups } from "./wakeups.js";

/** When a subscription's next message becomes claimable (epoch ms, past = now); undefined = none. */
export type NextClaimableProbe = (subscription: Subscription) => Promise<number | undefined>;

export interface IdlePollerOptions {
  probe: NextClaimableProbe;
  wakeups: Wakeups;
  /** Longest time between two probes of a subscription with waiting consumers, ms. */
  pollMs: number;
  /**
   * Longest a consumer waits without any wakeup before it claims on its own, ms: a safety net,
   * not the poll (the shared probe wakes it).
   */
  safetyMs?: number;
  now?: () => number;
  onError?: (error: unknown) => void;
}

interface Watch {
  subscription: Subscription;
  waiters: number;
  /** Ends the current pause early: a consumer asked for a fresh probe (after a nack). */
  kick?: () => void;
  /** A recheck came while a probe was running: its answer may predate the nack, so probe again. */
  recheckPending: boolean;
}

const DEFAULT_SAFETY_MS = 30_000;

/**
 * Consumers with nothing to do wait here. Instead of each one claiming on a timer (N idle streams
 * cost N claims per interval), one loop per subscription with waiters asks the database when its
 * next message becomes claimable and wakes them all through `Wakeups` when it is due: publishes on
 * other instances, retries whose backoff ended, messages an expired lease freed. Local publishes
 * and nacks still wake consumers at once through `Wakeups`.
 */
export class IdlePoller {
  private readonly watches = new Map<bigint, Watch>();
  private stopped = false;
  private readonly stopWaiters = new Set<() => void>();

  constructor(private readonly options: IdlePollerOptions) {}

  /** Subscriptions being probed (one loop each), for tests and metrics. */
  get watchedCount(): number {
    return this.watches.size;
  }

  /**
   * Resolves on a wakeup of the subscription or its topic (see Wakeups.wait, `since`), when the
   * shared probe finds work due, after `timeoutMs` (default: the safety interval), or on abort.
   */
  async waitForWork(
    subscription: Subscription,
    signal: AbortSignal,
    since?: WakeupMark,
    timeoutMs?: number,
    handle?: WaitHandle,
  ): Promise<void> {
    const { wakeups } = this.options;
    if (signal.aborted) return;
    if (since !== undefined && wakeups.hasNewerThan(since, subscription.id, subscription.topicId)) return;
    const watch = this.watch(subscription);
    watch.waiters += 1;
    try {
      await wakeups.wait(
        subscription.id,
        subscription.topicId,
        timeoutMs ?? this.options.safetyMs ?? DEFAULT_SAFETY_MS,
        signal,
        since,
        handle,
      );
    } finally {
      watch.waiters -= 1;
    }
  }

  /** Probes the subscription again now (a nack may have made an earlier retry time). */
  recheck(subscriptionId: bigint): void {
    const watch = this.watches.get(subscriptionId);
    if (!watch) return;
    if (watch.kick) watch.kick();
    else watch.recheckPending = true;
  }

  /** Ends every probe loop; waiting consumers still end through their own signals. */
  stop(): void {
    this.stopped = true;
    for (const wake of [...this.stopWaiters]) wake();
  }

  private watch(subscription: Subscription): Watch {
    let watch = this.watches.get(subscription.id);
    if (!watch) {
      watch = { subscription, waiters: 0, recheckPending: false };
      this.watches.set(subscription.id, watch);
      void this.run(watch);
    }
    return watch;
  }

  private async run(watch: Watch): Promise<void> {
    const { probe, wakeups, pollMs } = this.options;
    const now = this.options.now ?? Date.now;
    let idleRounds = 0;
    try {
      // Every round ends in a timer pause (at least 1 ms) or a recheck, so the loop yields to the
      // event loop. It outlives its last waiter by one round: consumers wait again right after
      // each claim, and a fresh loop would lose the retry time a recheck just learned.
      while (!this.stopped) {
        idleRounds = watch.waiters > 0 ? 0 : idleRounds + 1;
        if (idleRounds > 1) break;
        let delayMs = pollMs;
        try {
          const dueAtMs = await probe(watch.subscription);
          const nowMs = now();
          if (dueAtMs !== undefined && dueAtMs <= nowMs) {
            wakeups.notifySubscription(watch.subscription.id);
          } else if (dueAtMs !== undefined) {
            delayMs = Math.min(pollMs, Math.max(1, dueAtMs - nowMs));
          }
        } catch (error) {
          this.options.onError?.(error);
        }
        await this.pause(watch, delayMs);
      }
    } finally {
      this.watches.delete(watch.subscription.id);
    }
  }

  private pause(watch: Watch, ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (watch.recheckPending) {
      watch.recheckPending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopWaiters.delete(done);
        watch.kick = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      watch.kick = done;
      this.stopWaiters.add(done);
    });
  }
}
