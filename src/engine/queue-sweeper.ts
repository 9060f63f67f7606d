import type { QueueSweep } from "../app/consume/queue-sweep.js";
import type { Logger } from "../logger.js";
import type { BackgroundService } from "./background-service.js";
import { PeriodicTask } from "./periodic-task.js";
import type { Wakeups } from "./wakeups.js";

/**
 * Runs the queue sweep (expired leases, expired items) every `intervalMs` on this instance and
 * wakes local consumers of the subscriptions it touched. Start and stop are idempotent.
 */
export class QueueSweeper implements BackgroundService {
  private readonly task: PeriodicTask;

  constructor(
    private readonly sweep: QueueSweep,
    private readonly wakeups: Wakeups,
    private readonly logger: Logger,
    intervalMs: number,
  ) {
    this.task = new PeriodicTask("queue sweep", () => this.runOnce(), logger, intervalMs);
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
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
}
