/**
 * The seam between workloads and the systems they measure. Herald and each peer implement it;
 * a workload never knows which one it drives. Timestamps are `performance.now()` of this process,
 * which both publishes and receives, so no clock crosses a process boundary.
 */

/** One message as a workload publishes it. */
export interface BenchMessage {
  /** Unique per message in the whole bench run; carried as Herald's identifier / AMQP message-id / header. */
  id: string;
  /** The payload (1 KiB in every workload). */
  data: Uint8Array;
  /** performance.now() when the publish was started (or scheduled, for fixed-rate runs), ms. */
  sentAtMs: number;
}

/** One delivery as a consumer sees it. */
export interface ReceivedBenchMessage {
  id: string;
  sentAtMs: number;
}

export interface Publisher {
  /** Publishes `batch` and resolves once the system has durably accepted every message in it. */
  publish(batch: readonly BenchMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerHandlers {
  /** A batch arrived (as delivered by the system); called before it is acknowledged. */
  onReceived(batch: readonly ReceivedBenchMessage[], receivedAtMs: number): void;
  /** `count` deliveries were acknowledged (the ack call returned, or was flushed for fire-and-forget acks). */
  onAcked(count: number): void;
  /** The consumer failed and stopped. */
  onError(error: unknown): void;
}

export interface Consumer {
  /** Stops receiving and waits for acks in flight. */
  close(): Promise<void>;
}

export interface ConsumerOptions {
  /** Most unacknowledged deliveries outstanding on this consumer. */
  maxOutstandingMessages: number;
}

/** A fresh destination for one run: a Herald topic with one pull subscription, a queue, a stream. */
export interface Channel {
  /** A publisher on its own connection. */
  openPublisher(): Promise<Publisher>;
  /** A consumer on its own connection, competing with the channel's other consumers. */
  openConsumer(handlers: ConsumerHandlers, options: ConsumerOptions): Promise<Consumer>;
  /** Deletes what openChannel created (where the system allows it). */
  close(): Promise<void>;
}

/** A system under test, connected and ready. */
export interface Peer {
  /** Row label in the report, e.g. "Herald-MySQL", "RabbitMQ". */
  readonly label: string;
  /** Pid of the server process when it is ours to measure (the Herald child), else undefined. */
  readonly serverPid: number | undefined;
  /** Creates a fresh channel named after `tag` (letters, digits, dashes). */
  openChannel(tag: string): Promise<Channel>;
  /** Internal errors the server logged so far (Herald only). */
  serverErrors(): readonly string[];
  /** Disconnects, stops what it started and removes its databases. Safe to call twice. */
  close(): Promise<void>;
}

/** A peer that could not be used, with the reason to print. */
export interface MissingPeer {
  label: string;
  reason: string;
}
