/**
 * Herald as a peer: a child process on a fresh database, driven by connect gRPC clients. Each
 * publisher and consumer has its own HTTP/2 connection (its own Http2SessionManager).
 */
import type { DescService } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";
import type { BenchDatabase } from "../bench-databases.js";
import { type HeraldChild, type ServerRuntime, startHeraldChild } from "../herald-child.js";
import type { Channel, Consumer, ConsumerHandlers, ConsumerOptions, Peer, Publisher } from "./peer.js";

/** Attribute carrying the publish timestamp (performance.now() of the bench process, ms). */
export const SENT_AT_ATTRIBUTE = "bench_sent_at_ms";

function connectClient<S extends DescService>(service: S, baseUrl: string) {
  const sessions = new Http2SessionManager(baseUrl);
  const client = createClient(service, createGrpcTransport({ baseUrl, sessionManager: sessions }));
  return { client, close: () => sessions.abort() };
}

function openHeraldConsumer(
  baseUrl: string,
  subscription: string,
  handlers: ConsumerHandlers,
  options: ConsumerOptions,
): Consumer {
  const { client, close } = connectClient(SubscriberService, baseUrl);
  const abort = new AbortController();
  const acksInFlight = new Set<Promise<void>>();
  const reading = (async () => {
    try {
      const stream = client.subscribe(
        { subscription, maxOutstandingMessages: options.maxOutstandingMessages },
        { signal: abort.signal },
      );
      for await (const response of stream) {
        const receivedAtMs = performance.now();
        const received = response.receivedMessages;
        handlers.onReceived(
          received.map((r) => ({
            id: r.message?.identifier ?? "",
            sentAtMs: Number(r.message?.attributes[SENT_AT_ATTRIBUTE]),
          })),
          receivedAtMs,
        );
        // One Acknowledge per received batch, not awaited: the stream keeps reading meanwhile.
        const ackIds = received.map((r) => r.ackId);
        const ack: Promise<void> = client.acknowledge({ subscription, ackIds }).then(
          (outcome) => {
            if (outcome.invalidAckIds.length > 0) {
              handlers.onError(new Error(`${outcome.invalidAckIds.length} ack ids reported invalid`));
            }
            handlers.onAcked(ackIds.length);
          },
          (err: unknown) => {
            if (!abort.signal.aborted) handlers.onError(err);
          },
        );
        acksInFlight.add(ack);
        void ack.finally(() => acksInFlight.delete(ack));
      }
    } catch (err) {
      if (!abort.signal.aborted) handlers.onError(err);
    }
  })();
  return {
    async close() {
      await Promise.all([...acksInFlight]);
      abort.abort();
      await reading;
      close();
    },
  };
}

/** What a Herald channel subscribes to its topic; the default is one PULL subscription. */
export interface HeraldChannelOptions {
  /** PULL subscriptions on the topic (the consumers use the first); default 1. */
  pullSubscriptions?: number;
  /** When set, the topic has one PUSH subscription to this URL (the subscriber's webhook_url) instead. */
  pushEndpoint?: string;
}

async function openHeraldChannel(
  baseUrl: string,
  tag: string,
  options: HeraldChannelOptions = {},
): Promise<Channel> {
  const admin = connectClient(AdminService, baseUrl);
  const names = { publisher: `bench-pub-${tag}`, topic: `bench.${tag}`, subscription: `bench-sub-${tag}` };
  try {
    await admin.client.createPublisher({ code: names.publisher, name: names.publisher });
    await admin.client.createTopic({ code: names.topic, name: names.topic });
    const { subscriber } = await admin.client.createSubscriber({
      clientId: 1n,
      name: `bench-${tag}`,
      webhookUrl: options.pushEndpoint ?? "",
    });
    const count = options.pushEndpoint === undefined ? (options.pullSubscriptions ?? 1) : 1;
    for (let i = 0; i < count; i++) {
      await admin.client.createSubscription({
        name: i === 0 ? names.subscription : `${names.subscription}-${i}`,
        subscriberId: subscriber?.id ?? 0n,
        topic: names.topic,
        deliveryType: options.pushEndpoint === undefined ? DeliveryType.PULL : DeliveryType.PUSH,
      });
    }
  } finally {
    admin.close();
  }
  return {
    async openPublisher(): Promise<Publisher> {
      const { client, close } = connectClient(PublisherService, baseUrl);
      return {
        async publish(batch) {
          const response = await client.publish({
            publisher: names.publisher,
            topic: names.topic,
            messages: batch.map((m) => ({
              data: m.data,
              identifier: m.id,
              attributes: { [SENT_AT_ATTRIBUTE]: m.sentAtMs.toFixed(3) },
            })),
          });
          if (response.messageIds.length !== batch.length) {
            throw new Error(
              `Publish returned ${response.messageIds.length} ids for ${batch.length} messages`,
            );
          }
        },
        close: async () => close(),
      };
    },
    openConsumer: async (handlers, options) =>
      openHeraldConsumer(baseUrl, names.subscription, handlers, options),
    // The database is dropped with the peer; nothing to delete per channel.
    close: async () => {},
  };
}

/** Herald as a peer, plus channels with other subscription layouts (push, fan-out). */
export interface HeraldPeer extends Peer {
  openHeraldChannel(tag: string, options: HeraldChannelOptions): Promise<Channel>;
}

/** The Herald peer behind `peer`; throws for RabbitMQ/JetStream (Herald-only workloads). */
export function asHeraldPeer(peer: Peer): HeraldPeer {
  if (!("openHeraldChannel" in peer)) throw new Error(`${peer.label} does not run Herald-only workloads`);
  return peer as HeraldPeer;
}

export interface HeraldPeerOptions {
  label: string;
  database: BenchDatabase;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  cpuProfile?: { dir: string; name: string };
  runtime?: ServerRuntime;
}

/** A Herald child on `options.database` and the close() that stops it and drops the database. */
export async function startHeraldChildPeer(
  options: HeraldPeerOptions,
): Promise<{ child: HeraldChild; close(): Promise<void> }> {
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
  let closing: Promise<void> | undefined;
  return {
    child,
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

/** Starts a Herald child on `database` (dropped again by close()). */
export async function startHeraldPeer(options: HeraldPeerOptions): Promise<HeraldPeer> {
  const { child, close } = await startHeraldChildPeer(options);
  return {
    label: options.label,
    serverPid: child.pid,
    openChannel: (tag) => openHeraldChannel(child.baseUrl, tag),
    openHeraldChannel: (tag, channelOptions) => openHeraldChannel(child.baseUrl, tag, channelOptions),
    serverErrors: () => child.errorLines,
    close,
  };
}
