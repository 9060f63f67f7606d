import { createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import type { Authenticator } from "../app/authenticator.js";
import { type ApiSurface, authorizeSurface } from "../app/authorization.js";
import type { Principal } from "../app/principal.js";

/** The authenticated caller of the current request. */
export const principalKey = createContextKey<Principal>({ kind: "open" }, { description: "herald caller" });

/** Which surface each service is; services not listed (health, reflection) need no credentials. */
const SURFACES: Readonly<Record<string, ApiSurface>> = {
  "herald.v1.AdminService": "admin",
  "herald.v1.DeadLetterService": "admin",
  "herald.v1.PublisherService": "publish",
  "herald.v1.SubscriberService": "consume",
  // The google.pubsub.v1 API mixes surfaces in one service: resource management is admin.
  "google.pubsub.v1.Publisher": "admin",
  "google.pubsub.v1.Subscriber": "admin",
  "google.pubsub.v1.SchemaService": "admin",
  "google.iam.v1.IAMPolicy": "admin",
};

/** Methods whose surface differs from their service's. */
const METHOD_SURFACES: Readonly<Record<string, ApiSurface>> = {
  "google.pubsub.v1.Publisher/Publish": "publish",
  "google.pubsub.v1.Subscriber/Pull": "consume",
  "google.pubsub.v1.Subscriber/StreamingPull": "consume",
  "google.pubsub.v1.Subscriber/Acknowledge": "consume",
  "google.pubsub.v1.Subscriber/ModifyAckDeadline": "consume",
};

/**
 * Authenticates the bearer token of every call to Herald's own services (any protocol: the
 * `authorization` header of gRPC, gRPC-Web and Connect), checks that the caller may use the service
 * at all, and leaves the principal in the context for the per-resource checks in the handlers.
 */
export function authenticationInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    const surface =
      METHOD_SURFACES[`${req.service.typeName}/${req.method.name}`] ?? SURFACES[req.service.typeName];
    if (surface === undefined) return next(req);
    const principal = await authenticator.authenticate(req.header.get("authorization"));
    authorizeSurface(surface, principal);
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
}

export function principalOf(ctx: HandlerContext): Principal {
  return ctx.values.get(principalKey);
}
