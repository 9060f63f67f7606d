import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { IAMPolicy } from "../../../gen/google/iam/v1/iam_policy_pb.js";
import {
  file_google_pubsub_v1_pubsub,
  Publisher,
  Subscriber,
} from "../../../gen/google/pubsub/v1/pubsub_pb.js";
import { SchemaService } from "../../../gen/google/pubsub/v1/schema_pb.js";
import { unimplemented } from "./pubsub-conversion.js";
import { createPubsubPublisherHandlers, type PubsubPublisherDeps } from "./pubsub-publisher-handlers.js";
import { createPubsubSubscriberHandlers, type PubsubSubscriberDeps } from "./pubsub-subscriber-handlers.js";

/** The google.pubsub.v1 files, for server reflection. */
export const PUBSUB_FILES = [file_google_pubsub_v1_pubsub];

/** google.pubsub.v1 services whose health follows the database. */
export const PUBSUB_SERVICE_NAMES = [Publisher.typeName, Subscriber.typeName];

/** Every method of `service` answers UNIMPLEMENTED saying what Herald does not support. */
function unsupportedService(router: ConnectRouter, service: DescService, what: string): void {
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const refuse = async (): Promise<never> => {
      throw unimplemented(what);
    };
    // A generic DescMethod's handler type collapses to never; every unary handler may throw.
    router.rpc(method, refuse as never);
  }
}

/** Registers the google.pubsub.v1 compatibility API (Publisher, Subscriber; schemas and IAM refused). */
export function createPubsubRoutes(deps: PubsubPublisherDeps & PubsubSubscriberDeps) {
  return (router: ConnectRouter): void => {
    router.service(Publisher, createPubsubPublisherHandlers(deps));
    router.service(Subscriber, createPubsubSubscriberHandlers(deps));
    unsupportedService(router, SchemaService, "schemas");
    unsupportedService(router, IAMPolicy, "IAM policies");
  };
}
