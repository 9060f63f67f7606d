import type { Logger } from "../logger.js";

/**
 * What a starting server has opened so far, stopped in reverse order: the last thing started
 * stops first. Every entry is stopped even when one before it fails (each failure is logged), so a
 * failing step never leaves the store or a port open. Stopping twice stops once.
 */
export class ShutdownStack {
  private readonly entries: Array<{ name: string; stop: () => Promise<void> }> = [];
  private stopping: Promise<unknown[]> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Records something that is now open or running, and how to stop it. */
  push(name: string, stop: () => Promise<void>): void {
    this.entries.push({ name, stop });
  }

  /** Stops everything in reverse order; resolves with the errors met (empty when all stopped cleanly). */
  stopAll(): Promise<unknown[]> {
    this.stopping ??= (async () => {
      const errors: unknown[] = [];
      for (const { name, stop } of this.entries.toReversed()) {
        try {
          await stop();
        } catch (error) {
          errors.push(error);
          this.logger.error(`stopping ${name} failed`, { error });
        }
      }
      return errors;
    })();
    return this.stopping;
  }
}
