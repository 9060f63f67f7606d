/**
 * In-process wakeups: a consumer waiting for work on a subscription sleeps until a local publish
 * to its topic, a local nack/expiry on the subscription, a timeout (the poll that finds work from
 * other instances), or its abort signal — whichever comes first.
 *
 * A notification that arrives while the consumer is busy claiming is not lost: each topic and
 * subscription counts its notifications, a consumer takes a `mark()` before it claims, and
 * `wait(…, since)` returns at once when a notification came after that mark. Without this, a
 * publish committing during an empty claim left the consumer asleep for a whole poll interval.
 */
interface Waiter {
  topicId: bigint;
  wake: () => void;
}

/** Lets its holder end a wait early (`wake` is set while the wait is on). */
export interface WaitHandle {
  wake?: () => void;
}

/** Notifications seen so far for one subscription and its topic; compare with `hasNewerThan`. */
export interface WakeupMark {
  readonly topicCount: number;
  readonly subscriptionCount: number;
}

export class Wakeups {
  private readonly waiters = new Map<bigint, Set<Waiter>>();
  /** Notification counts; entries live as long as the process (one per topic or subscription ever notified). */
  private readonly topicCounts = new Map<bigint, number>();
  private readonly subscriptionCounts = new Map<bigint, number>();

  /** Subscriptions seen (marked or waited on) per topic: who a topic notification with exceptions reaches. */
  private readonly topicSubscriptions = new Map<bigint, Set<bigint>>();

  /** The notifications seen so far for the subscription and its topic. */
  mark(subscriptionId: bigint, topicId: bigint): WakeupMark {
    this.remember(subscriptionId, topicId);
    return {
      topicCount: this.topicCounts.get(topicId) ?? 0,
      subscriptionCount: this.subscriptionCounts.get(subscriptionId) ?? 0,
    };
  }

  /** True when the subscription or its topic was notified after `mark` was taken. */
  hasNewerThan(mark: WakeupMark, subscriptionId: bigint, topicId: bigint): boolean {
    return (
      (this.topicCounts.get(topicId) ?? 0) !== mark.topicCount ||
      (this.subscriptionCounts.get(subscriptionId) ?? 0) !== mark.subscriptionCount
    );
  }

  /**
   * Resolves on a wakeup for the subscription or its topic, after `timeoutMs`, or on abort; at
   * once when `since` is given and a notification came after it. `handle.wake` ends this wait alone.
   */
  wait(
    subscriptionId: bigint,
    topicId: bigint,
    timeoutMs: number,
    signal?: AbortSignal,
    since?: WakeupMark,
    handle?: WaitHandle,
  ): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    if (since !== undefined && this.hasNewerThan(since, subscriptionId, topicId)) return Promise.resolve();
    this.remember(subscriptionId, topicId);
    return new Promise((resolve) => {
      const set = this.waiters.get(subscriptionId) ?? new Set<Waiter>();
      this.waiters.set(subscriptionId, set);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        set.delete(waiter);
        if (handle?.wake === done) handle.wake = undefined;
        if (set.size === 0 && this.waiters.get(subscriptionId) === set) this.waiters.delete(subscriptionId);
        resolve();
      };
      const waiter: Waiter = { topicId, wake: done };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      set.add(waiter);
      if (handle) handle.wake = done;
    });
  }

  notifySubscription(subscriptionId: bigint): void {
    this.subscriptionCounts.set(subscriptionId, (this.subscriptionCounts.get(subscriptionId) ?? 0) + 1);
    for (const waiter of [...(this.waiters.get(subscriptionId) ?? [])]) waiter.wake();
  }

  /**
   * A publish to the topic committed. Subscriptions in `except` are left asleep: the publish handed
   * all their new rows to a waiting consumer already (direct-handoff.ts), so a claim would find
   * none of them. The others are notified one by one then, so their marks still see it.
   */
  notifyTopic(topicId: bigint, except?: ReadonlySet<bigint>): void {
    if (except !== undefined && except.size > 0) {
      for (const subscriptionId of [...(this.topicSubscriptions.get(topicId) ?? [])]) {
        if (!except.has(subscriptionId)) this.notifySubscription(subscriptionId);
      }
      return;
    }
    this.topicCounts.set(topicId, (this.topicCounts.get(topicId) ?? 0) + 1);
    for (const set of [...this.waiters.values()]) {
      for (const waiter of [...set]) if (waiter.topicId === topicId) waiter.wake();
    }
  }

  private remember(subscriptionId: bigint, topicId: bigint): void {
    const known = this.topicSubscriptions.get(topicId);
    if (known) known.add(subscriptionId);
    else this.topicSubscriptions.set(topicId, new Set([subscriptionId]));
  }
}
