import { createHmac } from "node:crypto";
import type { Delivery } from "../app/consume/delivery-service.js";
import type { SigningKeys } from "../app/ports/subscriber-repository.js";
import { signingKeyOf } from "../app/push/signing-secret.js";
import { newDataMessage } from "../domain/data-message.js";
import type { Subscription } from "../domain/subscription.js";

/** A push request before signing: its body and the headers that describe it. */
export interface PushRequest {
  body: string | Uint8Array;
  headers: Record<string, string>;
}

/**
 * The push request for a delivery, in the subscription's payload shape: the Pub/Sub JSON envelope
 * (camelCase and snake_case names both present, as Pub/Sub sends them, plus Herald's `identifier`
 * and `topic`), or the raw data (Pub/Sub `no_wrapper`), with metadata headers when asked.
 */
export function pushRequest(subscription: Subscription, delivery: Delivery): PushRequest {
  if (subscription.pushPayload === "wrapped") {
    return { body: pushBody(subscription, delivery), headers: { "content-type": "application/json" } };
  }
  const headers: Record<string, string> = { "content-type": "application/octet-stream" };
  if (subscription.pushPayload === "unwrapped_metadata")
    Object.assign(headers, metadataHeaders(subscription, delivery));
  return { body: delivery.message.data, headers };
}

/** The subscription as a push names it: its Pub/Sub resource name when created through that API. */
function subscriptionLabel(subscription: Subscription): string {
  return subscription.pubsubProject === ""
    ? subscription.name
    : `projects/${subscription.pubsubProject}/subscriptions/${subscription.name}`;
}

/**
 * Header names a message attribute may not take: transport and framing, Herald's signature and
 * Pub/Sub metadata, and headers that proxies, gateways and frameworks read as credentials, client
 * identity or routing (`authorization`, `cookie`, `x-forwarded-*`, …). Attribute headers are not
 * signed, so a publisher must not be able to speak for the sender or an intermediary. A denylist
 * rather than a prefix: Pub/Sub writes attributes under their own names, and receivers read them so.
 */
const RESERVED_HEADER = new RegExp(
  `^(${[
    // transport and framing
    "host|connection|content-.*|transfer-encoding|te|trailer|upgrade|user-agent|keep-alive|expect|via",
    // Herald's signature and Pub/Sub's (and Google's) metadata
    "webhook-.*|x-goog-.*|x-cloud-.*",
    // credentials and sessions
    "authorization|proxy-.*|cookie|cookie2|set-cookie|x-api-key|x-auth-.*|x-csrf-token|x-xsrf-token|x-access-token",
    // client identity and routing, as set by proxies and load balancers
    "forwarded|x-forwarded-.*|x-real-ip|x-client-ip|x-cluster-client-ip|true-client-ip|cf-.*|fastly-.*|akamai-.*",
    "x-original-.*|x-rewrite-url|x-http-method-override|x-http-method|x-method-override|x-envoy-.*|x-amz.*",
    "x-ms-.*|x-arr-.*|x-host|x-https|x-scheme|x-url-scheme|x-request-id|x-correlation-id|traceparent|tracestate",
    "x-ssl-.*|x-client-cert.*|x-remote-.*|x-user.*|x-wap-profile|front-end-https",
  ].join("|")})$`,
  "i",
);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Pub/Sub's `write_metadata` headers: subscription, message id and publish time, and each
 * attribute as a header of its own name. Attributes that cannot be a header (not an HTTP token,
 * a reserved name, or a value with control characters) are left out rather than corrupt the request.
 */
function metadataHeaders(subscription: Subscription, delivery: Delivery): Record<string, string> {
  const m = delivery.message;
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(m.attributes)) {
    if (TOKEN.test(key) && !RESERVED_HEADER.test(key) && HEADER_VALUE.test(value))
      headers[key.toLowerCase()] = value;
  }
  headers["x-goog-pubsub-subscription-name"] = subscriptionLabel(subscription);
  headers["x-goog-pubsub-message-id"] = m.id.toString();
  headers["x-goog-pubsub-publish-time"] = new Date(m.createdAtMs).toISOString();
  if (m.orderingKey !== "" && HEADER_VALUE.test(m.orderingKey))
    headers["x-goog-pubsub-ordering-key"] = m.orderingKey;
  return headers;
}

/**
 * The push request body, compatible with Google Pub/Sub push (camelCase and snake_case names both
 * present, as Pub/Sub sends them), plus Herald's `identifier` and `topic`.
 */
function pushBody(subscription: Subscription, delivery: Delivery): string {
  const m = delivery.message;
  const dataMessage = newDataMessage({
    messageId: m.id.toString(),
    publishTimeMs: m.createdAtMs,
    identifier: m.identifier,
    data: m.data,
    orderingKey: m.orderingKey,
    attributes: m.attributes,
  });
  const publishTime = new Date(m.createdAtMs).toISOString();
  return JSON.stringify({
    message: {
      data: dataMessage.toBase64(),
      attributes: m.attributes,
      messageId: dataMessage.messageId,
      message_id: dataMessage.messageId,
      publishTime,
      publish_time: publishTime,
      ...(m.orderingKey !== "" ? { orderingKey: m.orderingKey } : {}),
      identifier: m.identifier,
      topic: subscription.topicCode,
    },
    subscription: subscriptionLabel(subscription),
    deliveryAttempt: delivery.deliveryAttempt,
  });
}

/**
 * The Standard Webhooks `webhook-id` of a message pushed to a subscription: the same for every
 * retry and every replay from the dead-letter queue, so a receiver deduplicating on it processes
 * the message once (a replay enqueues a new queue row; an id per row would look like a new event).
 */
export function webhookId(subscriptionId: bigint, messageId: bigint): string {
  return `msg_${subscriptionId.toString()}_${messageId.toString()}`;
}

/**
 * Standard Webhooks headers: `webhook-id` as given (see `webhookId`), the signature is
 * `v1,<base64 HMAC-SHA256 of id.timestamp.body>` with every active secret (two during a
 * rotation's overlap, space separated).
 */
export function signedHeaders(
  id: string,
  body: string | Uint8Array,
  keys: SigningKeys,
  nowMs: number,
): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000).toString();
  const secrets = [keys.current];
  if (keys.previous !== null && (keys.previousExpiresAtMs ?? 0) > nowMs) secrets.push(keys.previous);
  const signature = secrets
    .map(
      (secret) =>
        `v1,${createHmac("sha256", signingKeyOf(secret)).update(`${id}.${timestamp}.`).update(body).digest("base64")}`,
    )
    .join(" ");
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature };
}
