import {
  type ContextValues,
  createContextKey,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import type { Authenticator } from "../app/auth/authenticator.js";
import { type ApiSurface, authorizeSurface } from "../app/auth/authorization.js";
import type { Principal } from "../app/auth/principal.js";

/** The authenticated caller of the current request. */
export const principalKey = createContextKey<Principal>({ kind: "open" }, { description: "herald caller" });

/** Set when the request gate already authenticated and authorized the call from its headers. */
const authorizedKey = createContextKey<boolean>(false, { description: "authorized before the body" });

/** Who may call a route: one of the three surfaces, or anyone (`public`: health, reflection). */
export type RouteAccess = ApiSurface | "public";

/**
 * Which surface each service is. Fail closed: a service missing here needs an admin token
 * (`routeAccess`), and a test enumerates every registered method against this table.
 */
const SERVICE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  "herald.v1.AdminService": "admin",
  "herald.v1.DeadLetterService": "admin",
  "herald.v1.PublisherService": "publish",
  "herald.v1.SubscriberService": "consume",
  // The console's reads: subscriber keys see their own (console-views.ts scopes every method).
  "herald.v1.ConsoleService": "consume",
  // The google.pubsub.v1 API mixes surfaces in one service: resource management is admin.
  "google.pubsub.v1.Publisher": "admin",
  "google.pubsub.v1.Subscriber": "admin",
  "google.pubsub.v1.SchemaService": "admin",
  "google.iam.v1.IAMPolicy": "admin",
  // Load balancers and `buf curl` must reach these without credentials; they reveal no data.
  "grpc.health.v1.Health": "public",
  "grpc.reflection.v1.ServerReflection": "public",
  "grpc.reflection.v1alpha.ServerReflection": "public",
};

/** Methods whose surface differs from their service's. */
const METHOD_ACCESS: Readonly<Record<string, RouteAccess>> = {
  "google.pubsub.v1.Publisher/Publish": "publish",
  "google.pubsub.v1.Subscriber/Pull": "consume",
  "google.pubsub.v1.Subscriber/StreamingPull": "consume",
  "google.pubsub.v1.Subscriber/Acknowledge": "consume",
  "google.pubsub.v1.Subscriber/ModifyAckDeadline": "consume",
};

/** Whether the table names the service (or method) explicitly; unlisted ones fall back to admin. */
export function isAccessListed(serviceTypeName: string, methodName: string): boolean {
  return (
    METHOD_ACCESS[`${serviceTypeName}/${methodName}`] !== undefined ||
    SERVICE_ACCESS[serviceTypeName] !== undefined
  );
}

/** Who may call `service/method`; anything the table does not name needs an admin token. */
export function routeAccess(serviceTypeName: string, methodName: string): RouteAccess {
  return METHOD_ACCESS[`${serviceTypeName}/${methodName}`] ?? SERVICE_ACCESS[serviceTypeName] ?? "admin";
}

/**
 * Authenticates `authorization` and checks the caller may use the route at all; undefined for a
 * public route. Throws UNAUTHENTICATED / PERMISSION_DENIED domain errors.
 */
export async function authorizeRoute(
  authenticator: Authenticator,
  access: RouteAccess,
  authorization: string | null,
): Promise<Principal | undefined> {
  if (access === "public") return undefined;
  const principal = await authenticator.authenticate(authorization);
  authorizeSurface(access, principal);
  return principal;
}

/** Context values carrying a principal the request gate established from the headers. */
export function withAuthorizedPrincipal(
  values: ContextValues,
  principal: Principal | undefined,
): ContextValues {
  if (principal === undefined) return values;
  values.set(principalKey, principal);
  values.set(authorizedKey, true);
  return values;
}

/**
 * Authenticates the bearer token of every call to Herald's own services (any protocol: the
 * `authorization` header of gRPC, gRPC-Web and Connect), checks that the caller may use the service
 * at all, and leaves the principal in the context for the per-resource checks in the handlers.
 * The request gate (request-gate.ts) normally did this from the headers before the body was read;
 * then this interceptor trusts its result, and otherwise it authenticates itself.
 */
export function authenticationInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    if (req.contextValues.get(authorizedKey)) return next(req);
    const access = routeAccess(req.service.typeName, req.method.name);
    const principal = await authorizeRoute(authenticator, access, req.header.get("authorization"));
    if (principal !== undefined) req.contextValues.set(principalKey, principal);
    return next(req);
  };
}

export function principalOf(ctx: HandlerContext): Principal {
  return ctx.values.get(principalKey);
}
