/**
 * Herald driven as a gRPC user in another stack would: `@grpc/grpc-js` with `@grpc/proto-loader`
 * reading proto/herald/v1, no generated TypeScript. The same kind of Herald child as the connect-es
 * rows, so the difference between the rows is the client. Each publisher and consumer has its own
 * HTTP/2 connection; a consumer is one Subscribe stream acking each received batch with one
 * Acknowledge (not awaited), as the connect-es consumer does.
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { REPO_ROOT } from "../herald-child.js";
import { type HeraldPeerOptions, SENT_AT_ATTRIBUTE, startHeraldChildPeer } from "./herald-peer.js";
import type { Channel, Consumer, ConsumerHandlers, ConsumerOptions, Peer, Publisher } from "./peer.js";

export const GRPC_JS_SUFFIX = " (grpc-js)";

// biome-ignore lint/suspicious/noExplicitAny: proto-loader clients are untyped by design
type UntypedClient = any;
type ClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options: object,
) => UntypedClient;

interface ServiceConstructors {
  admin: ClientConstructor;
  publisher: ClientConstructor;
  subscriber: ClientConstructor;
}

let services: ServiceConstructors | undefined;

/** Loads the protos once per bench process (what a generated-style client does at start-up). */
function loadServices(): ServiceConstructors {
  if (services) return services;
  const definition = protoLoader.loadSync(
    [
      "herald/v1/admin_service.proto",
      "herald/v1/publisher_service.proto",
      "herald/v1/subscriber_service.proto",
    ],
    {
      includeDirs: [join(REPO_ROOT, "proto")],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    },
  );
  // biome-ignore lint/suspicious/noExplicitAny: package object from loadPackageDefinition
  const v1 = (grpc.loadPackageDefinition(definition) as any).herald.v1;
  services = { admin: v1.AdminService, publisher: v1.PublisherService, subscriber: v1.SubscriberService };
  return services;
}

/**
 * A client on its own connection: grpc-js otherwise shares one connection between clients with equal
 * options through a process-wide subchannel pool.
 */
function newClient(kind: keyof ServiceConstructors, address: string): UntypedClient {
  const Client = loadServices()[kind];
  return new Client(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
}

function unary<T>(client: UntypedClient, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](request, (err: grpc.ServiceError | null, response: T) =>
      err ? reject(err) : resolve(response),
    );
  });
}

/** The fields of a SubscribeResponse the consumer reads (proto-loader keeps the proto's field names). */
interface SubscribeResponse {
  received_messages: {
    ack_id: string;
    message: { identifier: string; attributes: Record<string, string> } | null;
  }[];
}

function openGrpcJsConsumer(
  address: string,
  subscription: string,
  handlers: ConsumerHandlers,
  options: ConsumerOptions,
): Consumer {
  const client = newClient("subscriber", address);
  const acksInFlight = new Set<Promise<void>>();
  let isClosing = false;
  const stream: grpc.ClientReadableStream<SubscribeResponse> = client.Subscribe({
    subscription,
    max_outstanding_messages: options.maxOutstandingMessages,
  });
  const ended = new Promise<void>((resolve) => {
    stream.on("data", (response: SubscribeResponse) => {
      const receivedAtMs = performance.now();
      const received = response.received_messages;
      handlers.onReceived(
        received.map((r) => ({
          id: r.message?.identifier ?? "",
          sentAtMs: Number(r.message?.attributes[SENT_AT_ATTRIBUTE]),
        })),
        receivedAtMs,
      );
      // One Acknowledge per received batch, not awaited: the stream keeps reading meanwhile.
      const ackIds = received.map((r) => r.ack_id);
      const ack = unary<{ invalid_ack_ids: string[] }>(client, "Acknowledge", {
        subscription,
        ack_ids: ackIds,
      }).then(
        (outcome) => {
          if (outcome.invalid_ack_ids.length > 0) {
            handlers.onError(new Error(`${outcome.invalid_ack_ids.length} ack ids reported invalid`));
          }
          handlers.onAcked(ackIds.length);
        },
        (err: unknown) => {
          if (!isClosing) handlers.onError(err);
        },
      );
      acksInFlight.add(ack);
      void ack.finally(() => acksInFlight.delete(ack));
    });
    stream.on("error", (err: grpc.ServiceError) => {
      if (!(isClosing && err.code === grpc.status.CANCELLED)) handlers.onError(err);
      resolve();
    });
    stream.on("end", () => resolve());
  });
  return {
    async close() {
      await Promise.all([...acksInFlight]);
      isClosing = true;
      stream.cancel();
      await ended;
      client.close();
    },
  };
}

async function openGrpcJsChannel(address: string, tag: string): Promise<Channel> {
  const names = { publisher: `bench-pub-${tag}`, topic: `bench.${tag}`, subscription: `bench-sub-${tag}` };
  const admin = newClient("admin", address);
  try {
    await unary(admin, "CreatePublisher", { code: names.publisher, name: names.publisher });
    await unary(admin, "CreateTopic", { code: names.topic, name: names.topic });
    const { subscriber } = await unary<{ subscriber: { id: string } }>(admin, "CreateSubscriber", {
      client_id: "1",
      name: `bench-${tag}`,
    });
    await unary(admin, "CreateSubscription", {
      name: names.subscription,
      subscriber_id: subscriber.id,
      topic: names.topic,
      delivery_type: "DELIVERY_TYPE_PULL",
    });
  } finally {
    admin.close();
  }
  return {
    async openPublisher(): Promise<Publisher> {
      const client = newClient("publisher", address);
      return {
        async publish(batch) {
          const response = await unary<{ message_ids: string[] }>(client, "Publish", {
            publisher: names.publisher,
            topic: names.topic,
            messages: batch.map((m) => ({
              data: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length),
              identifier: m.id,
              attributes: { [SENT_AT_ATTRIBUTE]: m.sentAtMs.toFixed(3) },
            })),
          });
          if (response.message_ids.length !== batch.length) {
            throw new Error(
              `Publish returned ${response.message_ids.length} ids for ${batch.length} messages`,
            );
          }
        },
        close: async () => client.close(),
      };
    },
    openConsumer: async (handlers, options) =>
      openGrpcJsConsumer(address, names.subscription, handlers, options),
    // As for the connect-es rows: the database is dropped with the peer.
    close: async () => {},
  };
}

/** Starts a Herald child on `options.database` (dropped again by close()) and speaks grpc-js to it. */
export async function startGrpcJsPeer(options: HeraldPeerOptions): Promise<Peer> {
  const { child, close } = await startHeraldChildPeer(options);
  const address = child.baseUrl.replace(/^http:\/\//, "");
  return {
    label: options.label,
    serverPid: child.pid,
    openChannel: (tag) => openGrpcJsChannel(address, tag),
    serverErrors: () => child.errorLines,
    close,
  };
}
