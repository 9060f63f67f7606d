import type { QueueSweep } from "../app/queue-sweep.js";
import type { Logger } from "../logger.js";
import type { Wakeups } from "./wakeups.js";

/**
 * Runs the queue sweep (expired leases, expired items) every `intervalMs` on this instance and
 * wakes local consumers of the subscriptions it touched. Start and stop are idempotent.
 */
export class QueueSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly sweep: QueueSweep,
    private readonly wakeups: Wakeups,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One sweep now (tests and the interval both use it). */
  async runOnce(): Promise<void> {
    const result = await this.sweep.run();
    for (const id of result.subscriptionIds) this.wakeups.notifySubscription(id);
    if (result.expiredLeases + result.expiredItems > 0) {
      this.logger.debug("queue sweep", {
        expiredLeases: result.expiredLeases,
        expiredItems: result.expiredItems,
      });
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((error: unknown) => this.logger.warn("queue sweep failed", { error }))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.intervalMs);
  }
}
