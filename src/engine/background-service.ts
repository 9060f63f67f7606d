/**
 * The one lifecycle every background part of the server shares (periodic loops, the pushers, the
 * consumer engine): the composition root starts them in order and stops them in reverse.
 */
export interface BackgroundService {
  /** Starts the work; calling it while running does nothing. */
  start(): void;
  /**
   * Stops the work and resolves once what was in progress has ended. Calling it again, or before
   * `start`, resolves as well: a shutdown after a failed start stops everything it may have begun.
   */
  stop(): Promise<void>;
}
