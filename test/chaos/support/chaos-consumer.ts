/**
 * Real consumers for the fault-injection suite: Subscribe streams and Pull loops on whichever
 * instance is alive, reconnecting when their instance goes away, each with a behaviour — ack at
 * once, disconnect mid-batch, ack late, ack twice, nack everything, or drop (never answer). Every
 * delivery and every confirmed ack goes to the subscription's DeliveryLedger.
 */
import { setMaxListeners } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ReceivedMessage } from "../../../gen/herald/v1/subscriber_service_pb.js";
import { untext } from "../../support/fixtures.js";
import type { ChaosCluster, ChaosNode } from "./chaos-cluster.js";
import type { DeliveryLedger } from "./delivery-ledger.js";

export type ConsumerBehaviour = "ack" | "disconnect-mid-batch" | "ack-late" | "ack-twice" | "nack" | "drop";

export interface ConsumerOptions {
  name: string;
  behaviour: ConsumerBehaviour;
  /** Subscribe: max_outstanding_messages; Pull: max_messages. */
  maxMessages: number;
  /** Request ack deadline (0: the subscription's). */
  ackDeadlineSeconds?: number;
  /** How long "ack-late" holds a batch before acking, ms. */
  lateAckMs?: number;
  /** Ack through a random live instance instead of the one that delivered. */
  ackAnywhere?: boolean;
  /** Simulated work per batch before it is acked: a random time up to this, ms (default 0). */
  processingMs?: number;
  /** Connect to this cluster slot while it is alive (default: a random live instance each time). */
  preferSlot?: number;
  /**
   * Retry a failed ack or nack on other instances (default true). With false, a batch whose ack
   * failed (its instance died) is left to lease expiry and redelivery.
   */
  retrySettle?: boolean;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

const chaosIdOf = (m: ReceivedMessage) => untext(m.message?.data);
const messageIdOf = (m: ReceivedMessage) => m.message?.messageId ?? "";

/** How long an ack or nack keeps retrying on other instances before giving up, ms. */
const SETTLE_RETRY_MS = 20_000;

/**
 * Acks (or nacks) `ackIds` on `node`, then on other live instances while calls fail. Resolves with
 * the ids reported invalid, or undefined when no call succeeded (the leases then expire).
 */
async function settle(
  cluster: ChaosCluster,
  node: ChaosNode,
  subscription: string,
  ackIds: string[],
  kind: "ack" | "nack",
  shouldRetry = true,
): Promise<Set<string> | undefined> {
  const started = Date.now();
  let target = node;
  for (;;) {
    try {
      const response =
        kind === "ack"
          ? await target.clients.subscriber.acknowledge({ subscription, ackIds }, { timeoutMs: 15_000 })
          : await target.clients.subscriber.modifyAckDeadline(
              { subscription, ackIds, ackDeadlineSeconds: 0 },
              { timeoutMs: 15_000 },
            );
      return new Set(response.invalidAckIds);
    } catch {
      if (!shouldRetry || Date.now() - started > SETTLE_RETRY_MS) return undefined;
      await sleep(200);
      target = await cluster.pick();
    }
  }
}

/** One consumer (a stream or a Pull loop) that runs until `stop()`. */
export class ChaosConsumer {
  /** How each stream or Pull call ended, by gRPC code name (Canceled is our own disconnect). */
  readonly endings = new Map<string, number>();
  deliveries = 0;
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;
  private current: AbortController | undefined;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly ledger: DeliveryLedger,
    readonly options: ConsumerOptions,
  ) {
    // Every stream of this consumer listens to its stop signal (AbortSignal.any); reconnecting
    // consumers open many over a run.
    setMaxListeners(0, this.controller.signal);
  }

  get subscription(): string {
    return this.ledger.subscription;
  }

  /** Starts a Subscribe stream loop (`mode` "stream") or a Pull loop ("pull"). */
  start(mode: "stream" | "pull"): this {
    this.running ??= mode === "stream" ? this.streamLoop() : this.pullLoop();
    return this;
  }

  async stop(): Promise<void> {
    this.controller.abort();
    this.current?.abort();
    await this.running;
  }

  private ended(error: unknown): void {
    const name = error === undefined ? "ended" : (Code[ConnectError.from(error).code] ?? "unknown");
    this.endings.set(name, (this.endings.get(name) ?? 0) + 1);
  }

  private async target(): Promise<ChaosNode | undefined> {
    const preferred =
      this.options.preferSlot === undefined ? undefined : this.cluster.node(this.options.preferSlot);
    if (preferred && this.cluster.live().includes(preferred)) return preferred;
    return this.cluster.pick().catch(() => undefined);
  }

  private async streamLoop(): Promise<void> {
    const stop = this.controller.signal;
    let generation = 0;
    while (!stop.aborted) {
      const node = await this.target();
      if (!node) continue;
      generation += 1;
      const holder = `${this.options.name}#${generation}@${node.slot}.${node.generation}`;
      const attempt = new AbortController();
      this.current = attempt;
      const held = new Set<string>();
      const signal = AbortSignal.any([stop, attempt.signal]);
      try {
        const stream = node.clients.subscriber.subscribe(
          {
            subscription: this.subscription,
            maxOutstandingMessages: this.options.maxMessages,
            ackDeadlineSeconds: this.options.ackDeadlineSeconds ?? 0,
          },
          { signal },
        );
        for await (const response of stream) {
          await this.handle(node, holder, response.receivedMessages, held, attempt);
          if (attempt.signal.aborted) break;
        }
        this.ended(attempt.signal.aborted ? new ConnectError("disconnected", Code.Canceled) : undefined);
      } catch (error) {
        this.ended(error);
      } finally {
        this.ledger.released(holder, held);
      }
      if (!stop.aborted) await sleep(100, stop);
    }
  }

  private async pullLoop(): Promise<void> {
    const stop = this.controller.signal;
    let generation = 0;
    while (!stop.aborted) {
      const node = await this.target();
      if (!node) continue;
      generation += 1;
      const holder = `${this.options.name}#${generation}@${node.slot}.${node.generation}`;
      const held = new Set<string>();
      try {
        const { receivedMessages } = await node.clients.subscriber.pull(
          {
            subscription: this.subscription,
            maxMessages: this.options.maxMessages,
            maxWait: { seconds: 1n },
          },
          { signal: stop, timeoutMs: 15_000 },
        );
        await this.handle(node, holder, receivedMessages, held, new AbortController());
      } catch (error) {
        this.ended(error);
        if (!stop.aborted) await sleep(100, stop);
      } finally {
        this.ledger.released(holder, held);
      }
    }
  }

  private async handle(
    node: ChaosNode,
    holder: string,
    batch: ReceivedMessage[],
    held: Set<string>,
    attempt: AbortController,
  ): Promise<void> {
    if (batch.length === 0) return;
    this.deliveries += batch.length;
    for (const m of batch) {
      this.ledger.received(holder, chaosIdOf(m), messageIdOf(m));
      held.add(messageIdOf(m));
    }
    const { behaviour } = this.options;
    if (behaviour === "drop") return;
    if (behaviour === "nack") {
      this.ledger.released(holder, batch.map(messageIdOf));
      const invalid = await settle(
        this.cluster,
        node,
        this.subscription,
        batch.map((m) => m.ackId),
        "nack",
        this.options.retrySettle ?? true,
      );
      if (invalid) this.ledger.nacks += batch.length - invalid.size;
      return;
    }
    if (behaviour === "disconnect-mid-batch") {
      // Ack the first half, then go away holding the rest: those must come back.
      const half = batch.slice(0, Math.ceil(batch.length / 2));
      await this.ack(node, holder, half);
      attempt.abort();
      return;
    }
    if (behaviour === "ack-late") {
      await sleep(this.options.lateAckMs ?? 12_000, this.controller.signal);
      // Stopped while holding the batch: go away without acking (the leases run out).
      if (this.controller.signal.aborted) return;
    } else if (this.options.processingMs) await sleep(Math.random() * this.options.processingMs);
    await this.ack(node, holder, batch);
    if (behaviour === "ack-twice") {
      const again = await settle(
        this.cluster,
        node,
        this.subscription,
        batch.map((m) => m.ackId),
        "ack",
      );
      if (again && again.size > 0) this.ledger.secondAckInvalid += again.size;
    }
  }

  private async ack(node: ChaosNode, holder: string, batch: ReceivedMessage[]): Promise<void> {
    if (batch.length === 0) return;
    // Released before the call: from the moment the ack is sent, Herald may hand the message on.
    this.ledger.released(holder, batch.map(messageIdOf));
    const via = this.options.ackAnywhere ? await this.cluster.pick() : node;
    const invalid = await settle(
      this.cluster,
      via,
      this.subscription,
      batch.map((m) => m.ackId),
      "ack",
      this.options.retrySettle ?? true,
    );
    if (!invalid) {
      this.ledger.ackCallsAbandoned += 1;
      for (const m of batch) this.ledger.uncertainAcks.add(chaosIdOf(m));
      return;
    }
    this.ledger.invalidAcks += invalid.size;
    this.ledger.acknowledged(batch.filter((m) => !invalid.has(m.ackId)).map(chaosIdOf));
  }
}
