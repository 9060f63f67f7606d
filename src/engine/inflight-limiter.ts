/** A counter of push requests in flight on this instance, shared by every subscription's pusher. */
export class InflightLimiter {
  private inUse = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly max: number) {}

  /** Requests in flight now. */
  get inFlight(): number {
    return this.inUse;
  }

  get available(): number {
    return Math.max(0, this.max - this.inUse);
  }

  acquire(n: number): void {
    this.inUse += n;
  }

  release(n: number): void {
    this.inUse -= n;
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves when some room is released, after `timeoutMs`, or on abort. */
  waitForRoom(timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener("abort", done, { once: true });
      this.waiters.add(done);
    });
  }
}
