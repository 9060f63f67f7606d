import { type Logger, summarizeError } from "../logger.js";
import { type HealthState, ServingStatus } from "../transport/health-service.js";

export interface DatabaseHealthMonitorOptions {
  /** Health services to flip: "" (the whole server) and each herald.v1 service. */
  services: readonly string[];
  /** Time between the end of one ping and the next, ms. Default 1000. */
  intervalMs?: number;
  /** A ping slower than this counts as a failure, ms. Default 5000. */
  timeoutMs?: number;
  /** Told each change of reachability (for a metric); the first report is `true`, at start. */
  onChange?: (isReachable: boolean) => void;
}

/**
 * Pings the database every `intervalMs` and reports the services NOT_SERVING while it is
 * unreachable, SERVING again once a ping succeeds. Start and stop are idempotent; after stop it
 * never changes a status again, so a graceful stop's NOT_SERVING stays. It logs one line per
 * change (down, up), the cause without a stack: an outage's details repeat in every failing call.
 */
export class DatabaseHealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private stopped = true;
  private isReachable: boolean | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly store: { ping(): Promise<void> },
    private readonly health: HealthState,
    private readonly logger: Logger,
    private readonly options: DatabaseHealthMonitorOptions,
  ) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** Marks the services SERVING (the store was just opened) and starts pinging. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.report(true, undefined);
    this.schedule();
  }

  /** Stops pinging; statuses are no longer changed from the moment this is called. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.checking;
  }

  /** One ping now; the interval uses it too. */
  async checkNow(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.store.ping(),
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
    const status = isReachable ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    for (const service of this.options.services) this.health.setStatus(service, status);
    if (isReachable === this.isReachable) return;
    if (!isReachable)
      this.logger.warn("database unreachable: reporting NOT_SERVING", { reason: summarizeError(error) });
    else if (this.isReachable === false) this.logger.info("database reachable again: reporting SERVING");
    this.isReachable = isReachable;
    this.options.onChange?.(isReachable);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.checking = this.checkNow().finally(() => {
        this.checking = undefined;
        this.schedule();
      });
    }, this.intervalMs);
  }
}
