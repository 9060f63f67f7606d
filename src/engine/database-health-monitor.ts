import { type Logger, summarizeError } from "../logger.js";
import type { BackgroundService } from "./background-service.js";
import { PeriodicTask } from "./periodic-task.js";

/**
 * Where the monitor reports the server's health (the port; transport's HealthState implements it
 * for the gRPC Health service, flipping "" and every herald.v1 service together).
 */
export interface HealthReporter {
  /** SERVING (true) or NOT_SERVING (false); called on every ping, changed or not. */
  setServing(isServing: boolean): void;
}

export interface DatabaseHealthMonitorParams {
  /** What is pinged: the store. */
  database: { ping(): Promise<void> };
  health: HealthReporter;
  logger: Logger;
  /** Time between the end of one ping and the next, ms. Default 1000. */
  intervalMs?: number;
  /** A ping slower than this counts as a failure, ms. Default 5000. */
  timeoutMs?: number;
  /** Told each change of reachability (for a metric); the first report is `true`, at start. */
  onChange?: (isReachable: boolean) => void;
}

/** Default time between pings, ms. */
export const HEALTH_PING_INTERVAL_MS = 1_000;
/** Default time after which a ping counts as failed, ms. */
export const HEALTH_PING_TIMEOUT_MS = 5_000;

/**
 * Pings the database every `intervalMs` and reports NOT_SERVING while it is unreachable, SERVING
 * again once a ping succeeds. Start and stop are idempotent; after stop it never changes a status
 * again, so a graceful stop's NOT_SERVING stays. It logs one line per change (down, up), the cause
 * without a stack: an outage's details repeat in every failing call.
 */
export class DatabaseHealthMonitor implements BackgroundService {
  private readonly task: PeriodicTask;
  private stopped = true;
  private isReachable: boolean | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly params: DatabaseHealthMonitorParams) {
    this.timeoutMs = params.timeoutMs ?? HEALTH_PING_TIMEOUT_MS;
    // checkNow never rejects: a failed ping is a report, not a task failure.
    this.task = new PeriodicTask(
      "database ping",
      () => this.checkNow(),
      params.logger,
      params.intervalMs ?? HEALTH_PING_INTERVAL_MS,
    );
  }

  /** Marks the services SERVING (the store was just opened) and starts pinging. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.report(true, undefined);
    this.task.start();
  }

  /** Stops pinging; statuses are no longer changed from the moment this is called. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.task.stop();
  }

  /** One ping now; the interval uses it too. */
  async checkNow(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.params.database.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`ping took over ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      this.report(true, undefined);
    } catch (error) {
      this.report(false, error);
    } finally {
      clearTimeout(timer);
    }
  }

  private report(isReachable: boolean, error: unknown): void {
    if (this.stopped) return;
    this.params.health.setServing(isReachable);
    if (isReachable === this.isReachable) return;
    const { logger } = this.params;
    if (!isReachable)
      logger.warn("database unreachable: reporting NOT_SERVING", { reason: summarizeError(error) });
    else if (this.isReachable === false) logger.info("database reachable again: reporting SERVING");
    this.isReachable = isReachable;
    this.params.onChange?.(isReachable);
  }
}
