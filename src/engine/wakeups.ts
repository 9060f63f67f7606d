/**
 * In-process wakeups: a consumer waiting for work on a subscription sleeps until a local publish
 * to its topic, a local nack/expiry on the subscription, a timeout (the poll that finds work from
 * other instances), or its abort signal — whichever comes first.
 */
interface Waiter {
  topicId: bigint;
  wake: () => void;
}

export class Wakeups {
  private readonly waiters = new Map<bigint, Set<Waiter>>();

  /** Resolves on a wakeup for the subscription or its topic, after `timeoutMs`, or on abort. */
  wait(subscriptionId: bigint, topicId: bigint, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const set = this.waiters.get(subscriptionId) ?? new Set<Waiter>();
      this.waiters.set(subscriptionId, set);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        set.delete(waiter);
        if (set.size === 0 && this.waiters.get(subscriptionId) === set) this.waiters.delete(subscriptionId);
        resolve();
      };
      const waiter: Waiter = { topicId, wake: done };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      set.add(waiter);
    });
  }

  notifySubscription(subscriptionId: bigint): void {
    for (const waiter of [...(this.waiters.get(subscriptionId) ?? [])]) waiter.wake();
  }

  notifyTopic(topicId: bigint): void {
    for (const set of [...this.waiters.values()]) {
      for (const waiter of [...set]) if (waiter.topicId === topicId) waiter.wake();
    }
  }
}
