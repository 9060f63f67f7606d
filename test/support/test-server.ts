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
    stop: () => server.stop(),
  };
}
