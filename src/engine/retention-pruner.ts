import type { Retention, RetentionResult } from "../app/admin/retention.js";
import type { Clock } from "../domain/clock.js";
import type { Logger } from "../logger.js";
import type { BackgroundService } from "./background-service.js";
import { PeriodicTask } from "./periodic-task.js";

/**
 * Runs retention pruning every `intervalMs` on this instance. A failed run is logged as a warning
 * and retried at the next interval. Runs never overlap: `runOnce` during a run waits for it first.
 * Start and stop are idempotent.
 */
export class RetentionPruner implements BackgroundService {
  private readonly task: PeriodicTask;
  /** The latest run, settled or not; each run starts after the previous one settles. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly retention: Retention,
    private readonly clock: Clock,
    private readonly logger: Logger,
    intervalMs: number,
  ) {
    this.task = new PeriodicTask(
      "retention prune",
      async () => {
        await this.runOnce();
      },
      logger,
      intervalMs,
    );
  }

  start(): void {
    this.task.start();
  }

  /** Stops the interval and waits for a run in progress (scheduled or called directly). */
  async stop(): Promise<void> {
    await this.task.stop();
    await this.last;
  }

  /** One run now (tests, admin calls and the interval all use it); rejects when the run fails. */
  runOnce(): Promise<RetentionResult> {
    const run = this.last.then(async () => {
      const result = await this.retention.run(this.clock.nowMs());
      this.logger.debug("retention prune", { ...result });
      return result;
    });
    this.last = run.catch(() => undefined);
    return run;
  }
}
