import { DomainError } from "../../domain/domain-error.js";
import type { Subscription } from "../../domain/subscription.js";
import { mayPublishTo } from "../../domain/topic-grants.js";
import type { Principal } from "./principal.js";

/** The three kinds of API surface, by who may call them. */
export type ApiSurface = "admin" | "publish" | "consume";

const denied = (message: string) => new DomainError("permission_denied", "PERMISSION_DENIED", message);

/** Admin surfaces need an admin token; Publish a publisher key or admin; consumer calls a subscriber key or admin. */
export function authorizeSurface(surface: ApiSurface, principal: Principal): void {
  if (principal.kind === "open" || principal.kind === "admin") return;
  if (surface === "publish" && principal.kind === "publisher") return;
  if (surface === "consume" && principal.kind === "subscriber") return;
  throw denied("these credentials may not call this service");
}

/**
 * A publisher key publishes only as its own, active publisher, and only to the topics granted to
 * it (allowed_topics). Admin tokens and the open loopback mode publish anywhere: they may already
 * create publishers and grant themselves any topic, so a check would protect nothing.
 */
export function authorizePublish(principal: Principal, publisherCode: string, topicCode: string): void {
  if (principal.kind !== "publisher") return;
  if (principal.code !== publisherCode) throw denied("this key may only publish as its own publisher");
  if (!principal.isActive) throw denied("the publisher of this key is inactive");
  if (!mayPublishTo(principal.topics, topicCode)) {
    // Bounded echo: a topic code is at most 255 bytes; anything longer is not named.
    const named = topicCode.length <= 255 ? ` ${JSON.stringify(topicCode)}` : "";
    throw denied(`publisher "${principal.code}" may not publish to topic${named} (see allowed_topics)`);
  }
}

/** A subscriber key consumes only its own subscriber's subscriptions. */
export function authorizeConsume(principal: Principal, subscription: Subscription): void {
  if (principal.kind === "subscriber" && principal.subscriberId !== subscription.subscriberId) {
    throw denied("this key may not consume this subscription");
  }
}
