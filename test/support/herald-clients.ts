/**
 * The one place that decides how test clients talk to Herald: generated connect clients (gRPC) and
 * the headers every raw HTTP/2 request carries. When Herald requires authentication, add
 * `authorization: Bearer …` to `heraldCallHeaders()` and every client here follows.
 */
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { DeadLetterService } from "../../gen/herald/v1/dead_letter_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";

/** Headers sent with every test call (today none: no HERALD_ADMIN_TOKENS and a loopback bind). */
export function heraldCallHeaders(): Record<string, string> {
  return {};
}

const withCallHeaders: Interceptor = (next) => async (request) => {
  for (const [name, value] of Object.entries(heraldCallHeaders())) request.header.set(name, value);
  return next(request);
};

/** Generated clients for every Herald service plus grpc.health.v1, speaking gRPC to `baseUrl`. */
export function createHeraldClients(baseUrl: string) {
  const transport = createGrpcTransport({ baseUrl, interceptors: [withCallHeaders] });
  return {
    admin: createClient(AdminService, transport),
    publisher: createClient(PublisherService, transport),
    subscriber: createClient(SubscriberService, transport),
    deadLetters: createClient(DeadLetterService, transport),
    health: createClient(Health, transport),
  };
}

export type HeraldTestClients = ReturnType<typeof createHeraldClients>;

/** Sends `authorization: Bearer <token>` on every call (for servers started with HERALD_ADMIN_TOKENS). */
export function withBearer(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}
