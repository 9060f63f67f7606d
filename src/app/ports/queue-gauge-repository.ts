/** Storage port of the metrics that are read from the database on each scrape. */

/** The unacked work of one live subscription. */
export interface SubscriptionBacklog {
  subscriptionName: string;
  /** Queue rows not yet acked or dead-lettered (pending, leased or waiting for a retry). */
  unacked: number;
  /** Publish time of the oldest of them; null when there are none. */
  oldestUnackedAtMs: number | null;
}

export interface QueueGaugeRepository {
  /** Every live (not deleted) subscription with its unacked rows, in one grouped query. */
  backlogBySubscription(): Promise<SubscriptionBacklog[]>;
  /** Dead letters not yet resolved (replayed, resolved or purged), across subscriptions. */
  countUnresolvedDeadLetters(): Promise<number>;
}
