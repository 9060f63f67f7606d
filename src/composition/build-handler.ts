/**
 * The HTTP/2 request handler: every connect route, the interceptors (logging, the one error
 * table, authentication), the request gate in front and the gRPC unary fast path.
 */

import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AdminService, file_herald_v1_admin_service } from "../../gen/herald/v1/admin_service_pb.js";
import { ConsoleService, file_herald_v1_console_service } from "../../gen/herald/v1/console_service_pb.js";
import {
  DeadLetterService,
  file_herald_v1_dead_letter_service,
} from "../../gen/herald/v1/dead_letter_service_pb.js";
import { file_herald_v1_errors } from "../../gen/herald/v1/errors_pb.js";
import {
  file_herald_v1_publisher_service,
  PublisherService,
} from "../../gen/herald/v1/publisher_service_pb.js";
import { file_herald_v1_resources } from "../../gen/herald/v1/resources_pb.js";
import {
  file_herald_v1_subscriber_service,
  SubscriberService,
} from "../../gen/herald/v1/subscriber_service_pb.js";
import { ConsoleViews } from "../app/admin/console-views.js";
import { Inspection } from "../app/admin/inspection.js";
import type { Authenticator } from "../app/auth/authenticator.js";
import { SubscriptionLookup } from "../app/consume/subscription-lookup.js";
import type { DeadLetterAdmin } from "../app/dead-letters/dead-letter-admin.js";
import type { Store } from "../app/ports/store.js";
import type { Tracing } from "../app/ports/tracing.js";
import type { PublishMessages } from "../app/publish/publish-messages.js";
import type { PubsubIdentities } from "../app/pubsub/pubsub-identities.js";
import { PubsubTopicDeletion } from "../app/pubsub/pubsub-topic-deletion.js";
import type { HeraldConfig } from "../config/config.js";
import type { Clock } from "../domain/clock.js";
import type { ConsumerEngine } from "../engine/consumer-engine.js";
import type { Logger } from "../logger.js";
import type { HeraldMetrics } from "../observability/metrics.js";
import { type AdminUseCases, createAdminHandlers } from "../transport/admin-handlers.js";
import {
  authenticationInterceptor,
  authorizeRoute,
  withAuthorizedPrincipal,
} from "../transport/authentication.js";
import { loadConsoleAssets, withConsole } from "../transport/console-assets.js";
import { createConsoleHandlers } from "../transport/console-handlers.js";
import { createDeadLetterHandlers } from "../transport/dead-letter-handlers.js";
import { errorMappingInterceptor, toConnectError } from "../transport/error-mapping.js";
import { withGrpcUnaryFastPath } from "../transport/grpc-unary-fast-path.js";
import { createHealthRoutes, type HealthState } from "../transport/health-service.js";
import { type OidcPublisher, withOidcDiscovery } from "../transport/oidc-discovery.js";
import { createPublisherHandlers } from "../transport/publisher-handlers.js";
import { createPubsubRoutes, PUBSUB_FILES } from "../transport/pubsub/pubsub-routes.js";
import { createReflectionRoutes } from "../transport/reflection-service.js";
import { type GatedRoute, gatedRouteOf, RequestGate } from "../transport/request-gate.js";
import { requestLoggingInterceptor } from "../transport/request-logging.js";
import { tracingInterceptor } from "../transport/rpc-tracing.js";
import { createSubscriberHandlers } from "../transport/subscriber-handlers.js";
import { MAX_TIMEOUT_MS, READ_MAX_BYTES } from "./tuning.js";

export interface HandlerParams {
  config: HeraldConfig;
  clock: Clock;
  logger: Logger;
  store: Store;
  metrics: HeraldMetrics;
  authenticator: Authenticator;
  publishing: PublishMessages;
  admin: AdminUseCases;
  deadLetters: DeadLetterAdmin;
  pubsubIdentities: PubsubIdentities;
  consumers: ConsumerEngine;
  health: HealthState;
  /** A server span per call when tracing is on. */
  tracing: Tracing;
  /** Publishes the push-token keys at /.well-known/. */
  oidc: OidcPublisher;
  /** Aborted when the server stops: ends every open call. */
  shutdownSignal: AbortSignal;
}

export interface RequestHandling {
  handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void;
  gate: RequestGate;
  /** Every registered RPC path, collected as connect registers them (filled when the adapter is built). */
  gatedRoutes: ReadonlyMap<string, GatedRoute>;
}

export function buildRequestHandler(p: HandlerParams): RequestHandling {
  const { config, clock, logger, store, metrics, authenticator, publishing, admin } = p;
  const lookup = new SubscriptionLookup(store, clock);
  const publisherHandlers = createPublisherHandlers(publishing);
  // Open streams re-check their credentials and subscription (revoked keys, deactivated
  // subscribers, deleted subscriptions end their streams).
  const streamAccess = {
    reauthenticate: (authorization: string | null) => authenticator.authenticate(authorization),
    lookup,
    recheckMs: config.streamRecheckMs,
  };
  const subscriberHandlers = createSubscriberHandlers(lookup, p.consumers, streamAccess);
  const gatedRoutes = new Map<string, GatedRoute>();
  const routes = (router: ConnectRouter) => {
    registerRoutes(router);
    for (const h of router.handlers) gatedRoutes.set(h.requestPath, gatedRouteOf(h.service, h.method));
  };
  const registerRoutes = (router: ConnectRouter) => {
    const inspection = new Inspection(store, clock);
    router.service(AdminService, createAdminHandlers(admin, inspection));
    router.service(DeadLetterService, createDeadLetterHandlers(p.deadLetters));
    router.service(
      ConsoleService,
      createConsoleHandlers(new ConsoleViews(store, clock, inspection, admin.subscriptions, p.deadLetters)),
    );
    router.service(PublisherService, publisherHandlers);
    router.service(SubscriberService, subscriberHandlers);
    createPubsubRoutes({
      topics: admin.topics,
      topicDeletion: new PubsubTopicDeletion(store, clock, publishing),
      subscriptions: admin.subscriptions,
      seek: admin.seek,
      snapshots: admin.snapshots,
      publishing,
      identities: p.pubsubIdentities,
      lookup,
      engine: p.consumers,
      onAckError: (error) => logger.warn("StreamingPull acks not applied", { error }),
      streamAccess,
    })(router);
    createHealthRoutes(p.health, { maxWatches: config.maxHealthWatches })(router);
    createReflectionRoutes([
      file_herald_v1_admin_service,
      file_herald_v1_publisher_service,
      file_herald_v1_subscriber_service,
      file_herald_v1_resources,
      file_herald_v1_errors,
      file_herald_v1_dead_letter_service,
      file_herald_v1_console_service,
      ...PUBSUB_FILES,
    ])(router);
  };
  const interceptors = [
    // Outermost: the span covers the whole call and sees the codes the error mapping produced.
    ...(p.tracing.isEnabled ? [tracingInterceptor(p.tracing)] : []),
    requestLoggingInterceptor(logger),
    errorMappingInterceptor(
      (error, procedure) => {
        if (!store.isUnavailable(error)) {
          logger.error("request failed", { procedure, error });
          return;
        }
        // Counted each time, logged rate-limited (dampOutageLogs): an outage fails every call.
        // The label is the path only: the URL's authority is whatever the client sent.
        metrics.requestFoundDatabaseUnavailable(procedure.replace(/^[a-z]+:\/\/[^/]*/i, ""));
        logger.warn("request failed: database unavailable", { procedure, error });
      },
      (error) => store.isUnavailable(error),
    ),
    authenticationInterceptor(authenticator),
  ];
  const gate = new RequestGate({
    routes: gatedRoutes,
    authorize: (access, authorization) => authorizeRoute(authenticator, access, authorization),
    toError: (error, procedure) =>
      toConnectError(
        error,
        procedure,
        (e, proc) => logger.error("request failed", { procedure: proc, error: e }),
        (e) => store.isUnavailable(e),
      ),
    maxBufferedBytes: config.transport.maxBufferedRequestBytes,
    bodyTimeoutMs: config.transport.bodyTimeoutMs,
    onRefused: (procedure, reason, code) => {
      metrics.requestRefused(reason);
      // Debug only: a client hammering the limits must not flood the log; the counter shows it.
      logger.debug("request refused before its handler finished", { procedure, reason, code });
    },
  });
  const contextValues = (req: Parameters<typeof gate.principalOf>[0]) =>
    withAuthorizedPrincipal(createContextValues(), gate.principalOf(req));
  const connectHandler = connectNodeAdapter({
    routes,
    shutdownSignal: p.shutdownSignal,
    readMaxBytes: READ_MAX_BYTES,
    maxTimeoutMs: MAX_TIMEOUT_MS,
    // No gzip: payloads are mostly opaque bytes that do not shrink, and compressing every
    // response over 1 KiB cost a quarter of the end-to-end CPU in the benchmark.
    acceptCompression: [],
    // Reject unknown JSON fields and enum names (e.g. a misspelt deliveryType) instead of
    // silently ignoring them.
    jsonOptions: { ignoreUnknownFields: false },
    interceptors,
    contextValues,
  });
  // The per-message calls (Publish, Acknowledge) skip connect's generic pipeline in their usual
  // form (gRPC, binary, uncompressed); see grpc-unary-fast-path.ts for why and what stays equal.
  const rpcHandler = gate.wrap(
    withGrpcUnaryFastPath(
      {
        methods: [
          { method: PublisherService.method.publish, impl: publisherHandlers.publish },
          { method: SubscriberService.method.acknowledge, impl: subscriberHandlers.acknowledge },
        ],
        interceptors,
        shutdownSignal: p.shutdownSignal,
        readMaxBytes: READ_MAX_BYTES,
        maxTimeoutMs: MAX_TIMEOUT_MS,
        contextValues,
      },
      connectHandler,
    ),
  );
  // The web console's files (HERALD_CONSOLE_ENABLED); its calls are RPCs like any other client's.
  const rpcAndConsole = config.isConsoleEnabled ? withConsole(loadConsoleAssets(), rpcHandler) : rpcHandler;
  const handler = withOidcDiscovery(p.oidc, rpcAndConsole, (error) =>
    logger.warn("could not serve the push-token keys", { error }),
  );
  return { handler, gate, gatedRoutes };
}
