import type { DeadLetterForwarding } from "../app/dead-letters/dead-letter-forwarding.js";
import type { Logger } from "../logger.js";
import type { BackgroundService } from "./background-service.js";
import { PeriodicTask } from "./periodic-task.js";

const BATCH = 100;
/** Most batches per round, so one round cannot hold the task for long. */
const MAX_BATCHES_PER_ROUND = 50;

/**
 * Publishes dead letters of subscriptions with a dead-letter topic, on every instance (the
 * forwards' dedup ids make concurrent instances harmless). Dropped forwards are logged: the
 * dead letter itself stays in Herald's DLQ.
 */
export class DeadLetterForwarder implements BackgroundService {
  private readonly task: PeriodicTask;

  constructor(
    private readonly forwarding: DeadLetterForwarding,
    private readonly logger: Logger,
    intervalMs: number,
  ) {
    this.task = new PeriodicTask("dead-letter forwarding", () => this.runOnce(), logger, intervalMs);
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** Forwards until the outbox is empty (bounded); tests call it directly. */
  async runOnce(): Promise<void> {
    for (let i = 0; i < MAX_BATCHES_PER_ROUND; i++) {
      const outcome = await this.forwarding.forwardBatch(BATCH);
      for (const drop of outcome.dropped) {
        this.logger.warn("dead letter not forwarded to its dead-letter topic", {
          deadLetterId: drop.deadLetterId.toString(),
          reason: drop.reason,
        });
      }
      if (outcome.forwarded + outcome.dropped.length < BATCH) return;
    }
  }
}
