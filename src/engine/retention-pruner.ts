import type { Retention, RetentionResult } from "../app/retention.js";
import type { Clock } from "../domain/clock.js";
import type { Logger } from "../logger.js";

/**
 * Runs retention pruning every `intervalMs` on this instance. A failed run is logged as a warning
 * and retried at the next interval. Runs never overlap: `runOnce` during a run waits for it first.
 * Start and stop are idempotent.
 */
export class RetentionPruner {
  private timer: NodeJS.Timeout | undefined;
  /** The latest run, settled or not; each run starts after the previous one settles. */
  private last: Promise<unknown> = Promise.resolve();
  private stopped = true;

  constructor(
    private readonly retention: Retention,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the interval and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
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

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((error: unknown) => this.logger.warn("retention prune failed", { error }))
        .finally(() => this.schedule());
    }, this.intervalMs);
  }
}
