/**
 * RabbitMQ as a peer: a durable classic queue, persistent messages and publisher confirms (a batch
 * counts once every message in it is confirmed, each through its own confirm callback); consumers with prefetch and manual acks, one
 * multiple-ack per burst of deliveries handled in one event-loop turn.
 */
import amqp from "amqplib";
import { localServerPid } from "../process-meter.js";
import type { Channel, Consumer, ConsumerHandlers, ConsumerOptions, Peer, Publisher } from "./peer.js";

export const DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";
const SENT_AT_HEADER = "bench-sent-at-ms";
const CONNECT_TIMEOUT_MS = 3_000;

async function connect(url: string): Promise<amqp.ChannelModel> {
  const model = await amqp.connect(url, { timeout: CONNECT_TIMEOUT_MS });
  // An 'error' without a listener would crash the bench; failures surface through the calls.
  model.on("error", () => {});
  return model;
}

async function openRabbitPublisher(url: string, queue: string): Promise<Publisher> {
  const model = await connect(url);
  const channel = await model.createConfirmChannel();
  let drained: Promise<void> | undefined;
  return {
    async publish(batch) {
      // Each message waits for its own confirm (the broker may confirm several with one frame).
      // Not waitForConfirms(): that waits for everything unconfirmed on the channel, which with many
      // single-message publishes in flight makes each call wait for all the others.
      const confirmed: Promise<void>[] = [];
      for (const m of batch) {
        let hasRoom = true;
        const confirm = new Promise<void>((resolve, reject) => {
          hasRoom = channel.publish(
            "",
            queue,
            Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length),
            { persistent: true, messageId: m.id, headers: { [SENT_AT_HEADER]: m.sentAtMs } },
            (err: unknown) => (err ? reject(err) : resolve()),
          );
        });
        // Awaited below; this keeps a nack that arrives while waiting for "drain" from going unhandled.
        confirm.catch(() => {});
        confirmed.push(confirm);
        if (!hasRoom) {
          // One listener however many calls wait (up to 1,000 single-message calls in flight).
          drained ??= new Promise<void>((resolve) =>
            channel.once("drain", () => {
              drained = undefined;
              resolve();
            }),
          );
          await drained;
        }
      }
      await Promise.all(confirmed);
    },
    close: () => model.close(),
  };
}

async function openRabbitConsumer(
  url: string,
  queue: string,
  handlers: ConsumerHandlers,
  options: ConsumerOptions,
): Promise<Consumer> {
  const model = await connect(url);
  const channel = await model.createChannel();
  channel.on("error", (err: unknown) => handlers.onError(err));
  await channel.prefetch(options.maxOutstandingMessages);
  let last: amqp.ConsumeMessage | undefined;
  let unacked = 0;
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    if (!last) return;
    // multiple=true acks every delivery up to this one on the channel.
    channel.ack(last, true);
    handlers.onAcked(unacked);
    last = undefined;
    unacked = 0;
  };
  const { consumerTag } = await channel.consume(
    queue,
    (msg) => {
      if (!msg) return handlers.onError(new Error("RabbitMQ cancelled the consumer"));
      handlers.onReceived(
        [
          {
            id: String(msg.properties.messageId),
            sentAtMs: Number(msg.properties.headers?.[SENT_AT_HEADER]),
          },
        ],
        performance.now(),
      );
      last = msg;
      unacked += 1;
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    },
    { noAck: false },
  );
  return {
    async close() {
      flush();
      await channel.cancel(consumerTag);
      await model.close();
    },
  };
}

/** Connects to RabbitMQ; throws when it is not reachable. */
export async function startRabbitPeer(url: string): Promise<Peer & { version: string }> {
  const admin = await connect(url);
  const adminChannel = await admin.createChannel();
  let closing: Promise<void> | undefined;
  return {
    label: "RabbitMQ",
    version: String(admin.connection.serverProperties.version),
    // The Erlang VM (all of RabbitMQ) when it runs on this machine, for CPU and RSS readings.
    serverPid: localServerPid(url, "beam.smp"),
    serverErrors: () => [],
    async openChannel(tag): Promise<Channel> {
      const queue = `herald-bench-${tag}`;
      await adminChannel.assertQueue(queue, {
        durable: true,
        autoDelete: false,
        arguments: { "x-queue-type": "classic" },
      });
      await adminChannel.purgeQueue(queue);
      return {
        openPublisher: () => openRabbitPublisher(url, queue),
        openConsumer: (handlers, options) => openRabbitConsumer(url, queue, handlers, options),
        close: async () => {
          await adminChannel.deleteQueue(queue);
        },
      };
    },
    close() {
      closing ??= admin.close().catch(() => {});
      return closing;
    },
  };
}
