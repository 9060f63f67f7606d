import type { HandlerContext } from "@connectrpc/connect";
import { authorizeConsume, authorizeSurface } from "../app/auth/authorization.js";
import type { Principal } from "../app/auth/principal.js";
import type { SubscriptionLookup } from "../app/consume/subscription-lookup.js";
import { DomainError } from "../domain/domain-error.js";
import type { Subscription } from "../domain/subscription.js";

/** Authenticates an `authorization` header again (the same check the interceptor made). */
export type Reauthenticate = (authorization: string | null) => Promise<Principal>;

export interface StreamAccessOptions {
  reauthenticate: Reauthenticate;
  lookup: SubscriptionLookup;
  /** How often an open stream re-checks its credentials and subscription, ms. */
  recheckMs: number;
}

/** Which principal a stream counts against for the per-key stream cap; undefined when auth is off. */
export function streamPrincipalKey(principal: Principal): string | undefined {
  switch (principal.kind) {
    case "open":
      return undefined;
    case "admin":
      return "admin";
    default:
      return `key:${principal.keyPrefix}`;
  }
}

/**
 * Keeps checking, while a consumer stream is open, that its caller may still consume the
 * subscription: the key not revoked or expired and its subscriber active, the subscription not
 * deleted. Checking only at open would let a revoked key keep receiving and acking for as long as
 * its stream lasts. `signal` aborts when access is lost; `failure()` is then the error to end the
 * stream with (PERMISSION_DENIED or NOT_FOUND). A database outage is not a loss of access: the
 * stream rides it out and the next check decides.
 */
export function guardStreamAccess(
  ctx: HandlerContext,
  subscriptionName: string,
  options: StreamAccessOptions,
): { signal: AbortSignal; failure(): unknown; stop(): void } {
  const lost = new AbortController();
  let failure: unknown;
  const authorization = ctx.requestHeader.get("authorization");
  const check = async () => {
    let principal: Principal;
    try {
      principal = await options.reauthenticate(authorization);
      authorizeSurface("consume", principal);
    } catch (error) {
      if (!(error instanceof DomainError)) return;
      throw new DomainError(
        "permission_denied",
        "PERMISSION_DENIED",
        "the credentials of this stream were revoked or are no longer valid",
      );
    }
    const subscription: Subscription = await options.lookup.require(subscriptionName, "pull");
    authorizeConsume(principal, subscription);
  };
  let running = false;
  const timer = setInterval(() => {
    if (running || lost.signal.aborted) return;
    running = true;
    check()
      .catch((error: unknown) => {
        if (error instanceof DomainError) {
          failure = error;
          lost.abort();
        }
      })
      .finally(() => {
        running = false;
      });
  }, options.recheckMs);
  timer.unref();
  return {
    signal: lost.signal,
    failure: () => failure,
    stop: () => clearInterval(timer),
  };
}
