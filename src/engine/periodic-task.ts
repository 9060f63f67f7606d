import type { Logger } from "../logger.js";

/**
 * Runs `task` every `intervalMs` (measured from the end of one run to the start of the next) until
 * stopped; a failed run is logged and the next one still happens. Start and stop are idempotent;
 * stop waits for a run in progress.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly task: () => Promise<void>,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    // A run still in progress (one a stop is waiting for) schedules the next itself when it ends.
    if (this.running === undefined) this.schedule(this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Runs the task soon instead of at the next interval (e.g. when new work was just recorded). */
  nudge(): void {
    if (this.stopped || this.running) return;
    clearTimeout(this.timer);
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.task()
        .catch((error: unknown) => this.logger.warn(`${this.name} failed`, { error }))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.intervalMs);
        });
    }, delayMs);
  }
}
