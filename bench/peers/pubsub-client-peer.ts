/**
 * Herald through its google.pubsub.v1 compatibility API, driven by the official `@google-cloud/pubsub`
 * client: the same Herald child as the Herald-MySQL row (it serves both APIs on one port), so the
 * difference between the two rows is the API and the client. A channel is a topic plus one
 * subscription created through the client; a publisher is `topic.publishMessage` with the client's
 * batching; a consumer is `subscription.on("message")` with client flow control, acking each message.
 */
import { type ClientConfig, Duration, type Message, PubSub, type Topic } from "@google-cloud/pubsub";
import { type HeraldChild, startHeraldChild } from "../herald-child.js";
import type { HeraldPeerOptions } from "./herald-peer.js";
import type { Channel, Consumer, ConsumerHandlers, ConsumerOptions, Peer, Publisher } from "./peer.js";

export const PUBSUB_CLIENT_LABEL = "Herald-MySQL via Pub/Sub client";
/** Pub/Sub has no client-chosen message id, so the bench id travels as an attribute. */
const ID_ATTRIBUTE = "bench_id";
const SENT_AT_ATTRIBUTE = "bench_sent_at_ms";
/** Any project works: Herald maps every project onto its one namespace. */
const PROJECT = "herald-bench";
/** The client's own limit on messages per Publish request. */
const CLIENT_MAX_BATCH = 1000;
/** A partial batch (the last of a run) is sent after this long. */
const BATCH_LINGER_MS = 5;
/**
 * Total time for one call including the client's retries: gax otherwise retries Publish for up to
 * 600 s, longer than any run may take.
 */
const CALL_TIMEOUT_MS = 30_000;
/** Bound on subscription.close(): the client's default is its max lease extension (60 min). */
const CLOSE_TIMEOUT = Duration.from({ seconds: 10 });
/** Client debug events (failed ack/modack batches, stream retries) printed per consumer, at most. */
const DEBUG_LINES_SHOWN = 5;

/**
 * A client with its own gRPC connection. grpc-js shares connections between clients with equal
 * options through a process-wide pool, which would put every publisher and consumer on one HTTP/2
 * connection; the local pool keeps them apart, as the other peers' clients are.
 */
function newClient(endpoint: string): PubSub {
  const config = {
    projectId: PROJECT,
    apiEndpoint: endpoint,
    emulatorMode: true,
    "grpc.use_local_subchannel_pool": 1,
  } as ClientConfig;
  return new PubSub(config);
}

async function openClientPublisher(endpoint: string, topicId: string): Promise<Publisher> {
  const client = newClient(endpoint);
  const topic: Topic = client.topic(topicId);
  let isConfigured = false;
  return {
    async publish(batch) {
      // Each workload uses one batch size per publisher; sizing the client's batches to the first
      // call makes one workload batch one Publish request (and keeps "1 message per Publish" true).
      if (!isConfigured) {
        topic.setPublishOptions({
          batching: {
            maxMessages: Math.min(Math.max(batch.length, 1), CLIENT_MAX_BATCH),
            maxMilliseconds: BATCH_LINGER_MS,
          },
          gaxOpts: { timeout: CALL_TIMEOUT_MS },
        });
        isConfigured = true;
      }
      await Promise.all(
        batch.map((m) =>
          topic.publishMessage({
            data: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length),
            attributes: { [ID_ATTRIBUTE]: m.id, [SENT_AT_ATTRIBUTE]: m.sentAtMs.toFixed(3) },
          }),
        ),
      );
    },
    async close() {
      try {
        await topic.flush();
      } finally {
        await client.close();
      }
    },
  };
}

function openClientConsumer(
  endpoint: string,
  subscriptionId: string,
  handlers: ConsumerHandlers,
  options: ConsumerOptions,
): Consumer {
  const client = newClient(endpoint);
  const subscription = client.subscription(subscriptionId, {
    flowControl: { maxMessages: options.maxOutstandingMessages, allowExcessMessages: false },
    // One StreamingPull stream per consumer (the client's default is 5), like the Herald row's one
    // Subscribe stream per consumer, so both rows put the same number of claimers on the database.
    streamingOptions: { maxStreams: 1 },
    closeOptions: { behavior: "NACK", timeout: CLOSE_TIMEOUT },
  });
  let debugLines = 0;
  let isClosed = false;
  subscription.on("message", (message: Message) => {
    handlers.onReceived(
      [
        {
          id: message.attributes[ID_ATTRIBUTE] ?? "",
          sentAtMs: Number(message.attributes[SENT_AT_ATTRIBUTE]),
        },
      ],
      performance.now(),
    );
    // The client batches acks itself (up to 100 ms) and reports no outcome without exactly-once
    // delivery, so an ack counts when it is handed over, as for RabbitMQ and JetStream.
    message.ack();
    handlers.onAcked(1);
  });
  // Stays attached after close: an "error" emitted with no listener would crash the bench.
  subscription.on("error", (err: unknown) => {
    if (!isClosed) handlers.onError(err);
  });
  // Failed ack/modack batches never reach "error" (the client retries or drops them); show a few.
  subscription.on("debug", (msg: { message: string }) => {
    if (++debugLines <= DEBUG_LINES_SHOWN) console.log(`  [${PUBSUB_CLIENT_LABEL}] client: ${msg.message}`);
  });
  return {
    async close() {
      isClosed = true;
      try {
        await subscription.close();
      } finally {
        subscription.removeAllListeners("message");
        await client.close();
        if (debugLines > DEBUG_LINES_SHOWN) {
          console.log(`  [${PUBSUB_CLIENT_LABEL}] client: ${debugLines} debug events in all`);
        }
      }
    },
  };
}

async function openClientChannel(endpoint: string, tag: string): Promise<Channel> {
  // Pub/Sub ids must start with a letter; the tag may not.
  const topicId = `bench-${tag}`;
  const subscriptionId = `bench-sub-${tag}`;
  const admin = newClient(endpoint);
  try {
    const [topic] = await admin.createTopic(topicId, { timeout: CALL_TIMEOUT_MS });
    await topic.createSubscription(subscriptionId, { gaxOpts: { timeout: CALL_TIMEOUT_MS } });
  } finally {
    await admin.close();
  }
  return {
    openPublisher: () => openClientPublisher(endpoint, topicId),
    openConsumer: async (handlers, options) =>
      openClientConsumer(endpoint, subscriptionId, handlers, options),
    // As for the Herald row: the database is dropped with the peer; nothing to delete per channel.
    close: async () => {},
  };
}

/** Starts a Herald child on `options.database` (dropped again by close()) and speaks Pub/Sub to it. */
export async function startPubsubClientPeer(options: HeraldPeerOptions): Promise<Peer> {
  // Without it every client probes the GCE metadata server for credentials and warns.
  process.env.METADATA_SERVER_DETECTION ??= "none";
  let child: HeraldChild;
  try {
    child = await startHeraldChild({
      databaseUrl: options.database.url,
      ...(options.env ? { env: options.env } : {}),
      ...(options.cpuProfile ? { cpuProfile: options.cpuProfile } : {}),
      ...(options.runtime ? { runtime: options.runtime } : {}),
    });
  } catch (err) {
    await options.database.drop();
    throw err;
  }
  const endpoint = child.baseUrl.replace(/^http:\/\//, "");
  let closing: Promise<void> | undefined;
  return {
    label: options.label,
    serverPid: child.pid,
    openChannel: (tag) => openClientChannel(endpoint, tag),
    serverErrors: () => child.errorLines,
    close() {
      closing ??= (async () => {
        try {
          await child.stop();
        } finally {
          await options.database.drop();
        }
      })();
      return closing;
    },
  };
}
