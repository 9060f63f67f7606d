import { connect } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";
import { type HeraldConfig, loadConfig } from "../../src/config/config.js";
import type { Clock } from "../../src/domain/clock.js";
import { type HeraldServer, startHerald } from "../../src/herald-server.js";
import { createJsonLogger, type Logger } from "../../src/logger.js";
import type { TestDatabase } from "./test-databases.js";

export interface TestServer {
  server: HeraldServer;
  admin: ReturnType<typeof createClient<typeof AdminService>>;
  publisher: ReturnType<typeof createClient<typeof PublisherService>>;
  subscriber: ReturnType<typeof createClient<typeof SubscriberService>>;
  stop(): Promise<void>;
}

/** Starts the real server on 127.0.0.1:0 against `db`, with connect clients speaking gRPC. */
export async function startTestServer(
  db: TestDatabase,
  overrides: Partial<HeraldConfig> = {},
  options: { clock?: Clock; logger?: Logger; env?: Record<string, string> } = {},
): Promise<TestServer> {
  const config: HeraldConfig = {
    ...loadConfig({
      HERALD_ADDR: "127.0.0.1:0",
      DATABASE_URL: db.url,
      HERALD_LOG_LEVEL: "silent",
      ...options.env,
    }),
    ...overrides,
  };
  const server = await startHerald(config, {
    logger: options.logger ?? createJsonLogger("silent"),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const transport = createGrpcTransport({ baseUrl: server.url });
  return {
    server,
    admin: createClient(AdminService, transport),
    publisher: createClient(PublisherService, transport),
    subscriber: createClient(SubscriberService, transport),
    stop: async () => {
      await server.stop();
      await assertNothingLeaked(server);
    },
  };
}

/**
 * After a stop, nothing the server held may still be open: no Subscribe stream, no buffered request
 * body, no webhook request in flight, and no listening port (its HTTP/2 sessions are closed once the
 * port's close completes). A leak fails the test whose `afterAll`/`finally` stopped the server.
 */
export async function assertNothingLeaked(server: HeraldServer): Promise<void> {
  const leaks: string[] = [];
  if (server.openStreams() !== 0) leaks.push(`${server.openStreams()} Subscribe stream(s) still open`);
  if (server.bufferedRequestBytes() !== 0)
    leaks.push(`${server.bufferedRequestBytes()} request body byte(s) still buffered`);
  const inflight = await server.metrics.registry.getSingleMetric("herald_webhook_inflight")?.get();
  const pushes = inflight?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
  if (pushes !== 0) leaks.push(`${pushes} webhook request(s) still in flight`);
  if (await isAccepting(new URL(server.url).hostname.replace(/^\[|\]$/g, ""), server.port))
    leaks.push(`port ${server.port} still accepts connections`);
  if (leaks.length > 0) throw new Error(`the test server stopped with leaks: ${leaks.join("; ")}`);
}

function isAccepting(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
