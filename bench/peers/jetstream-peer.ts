/**
 * NATS JetStream as a peer: a work-queue stream on file storage; publishes awaited for their
 * PubAck (a batch is its messages published concurrently); one durable pull consumer with
 * explicit acks shared by the competing consumers, each on its own connection.
 */
import {
  AckPolicy,
  type ConsumerMessages,
  connect,
  headers,
  type JetStreamManager,
  type NatsConnection,
  RetentionPolicy,
  StorageType,
} from "nats";
import { localServerPid } from "../process-meter.js";
import type { Channel, Consumer, ConsumerHandlers, ConsumerOptions, Peer, Publisher } from "./peer.js";

export const DEFAULT_NATS_URL = "127.0.0.1:4222";
const ID_HEADER = "Bench-Id";
const SENT_AT_HEADER = "Bench-Sent-At-Ms";
const DURABLE = "bench";
/** Server-side cap on unacked deliveries across all consumers; the clients' pull size bounds each. */
const MAX_ACK_PENDING = 20_000;

function connectNats(url: string): Promise<NatsConnection> {
  return connect({ servers: url, timeout: 3_000, maxReconnectAttempts: 0 });
}

async function openJetStreamPublisher(url: string, subject: string): Promise<Publisher> {
  const nc = await connectNats(url);
  const js = nc.jetstream();
  return {
    async publish(batch) {
      await Promise.all(
        batch.map((m) => {
          const h = headers();
          h.set(ID_HEADER, m.id);
          h.set(SENT_AT_HEADER, m.sentAtMs.toFixed(3));
          // No msgID: that would switch on JetStream's duplicate window, which Herald does not get either.
          return js.publish(subject, m.data, { headers: h });
        }),
      );
    },
    close: () => nc.close(),
  };
}

async function openJetStreamConsumer(
  url: string,
  stream: string,
  handlers: ConsumerHandlers,
  options: ConsumerOptions,
): Promise<Consumer> {
  const nc = await connectNats(url);
  const consumer = await nc.jetstream().consumers.get(stream, DURABLE);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: options.maxOutstandingMessages });
  const reading = (async () => {
    try {
      for await (const m of messages) {
        handlers.onReceived(
          [{ id: m.headers?.get(ID_HEADER) ?? "", sentAtMs: Number(m.headers?.get(SENT_AT_HEADER)) }],
          performance.now(),
        );
        // Explicit acks are one per message in JetStream; the client coalesces their writes.
        m.ack();
        handlers.onAcked(1);
      }
    } catch (err) {
      handlers.onError(err);
    }
  })();
  return {
    async close() {
      await nc.flush();
      await messages.close();
      await reading;
      await nc.close();
    },
  };
}

/** Connects to NATS and checks JetStream is enabled; throws when either is missing. */
export async function startJetStreamPeer(url: string): Promise<Peer & { version: string }> {
  const nc = await connectNats(url);
  let jsm: JetStreamManager;
  try {
    jsm = await nc.jetstreamManager();
  } catch (err) {
    await nc.close();
    throw new Error(`JetStream not available: ${err instanceof Error ? err.message : String(err)}`);
  }
  let closing: Promise<void> | undefined;
  return {
    label: "JetStream",
    version: nc.info?.version ?? "unknown",
    serverPid: localServerPid(url, "nats-server"),
    serverErrors: () => [],
    async openChannel(tag): Promise<Channel> {
      const stream = `HERALD_BENCH_${tag.replace(/[^A-Za-z0-9]/g, "_")}`;
      const subject = `herald.bench.${tag}`;
      await jsm.streams.add({
        name: stream,
        subjects: [subject],
        storage: StorageType.File,
        retention: RetentionPolicy.Workqueue,
      });
      await jsm.consumers.add(stream, {
        durable_name: DURABLE,
        ack_policy: AckPolicy.Explicit,
        max_ack_pending: MAX_ACK_PENDING,
      });
      return {
        openPublisher: () => openJetStreamPublisher(url, subject),
        openConsumer: (handlers, options) => openJetStreamConsumer(url, stream, handlers, options),
        close: async () => {
          await jsm.streams.delete(stream);
        },
      };
    },
    close() {
      closing ??= nc.close();
      return closing;
    },
  };
}
