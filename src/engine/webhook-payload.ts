import { createHmac } from "node:crypto";
import type { Delivery } from "../app/delivery-service.js";
import { signingKeyOf } from "../app/signing-secret.js";
import type { SigningKeys } from "../app/store.js";
import { newDataMessage } from "../domain/data-message.js";
import type { Subscription } from "../domain/subscription.js";

/**
 * The push request body, compatible with Google Pub/Sub push (camelCase and snake_case names both
 * present, as Pub/Sub sends them), plus Herald's `identifier` and `topic`.
 */
export function pushBody(subscription: Subscription, delivery: Delivery): string {
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
    subscription: subscription.name,
    deliveryAttempt: delivery.deliveryAttempt,
  });
}

/**
 * Standard Webhooks headers: `webhook-id` is stable across retries of one queue item, the
 * signature is `v1,<base64 HMAC-SHA256 of id.timestamp.body>` with every active secret (two
 * during a rotation's overlap, space separated).
 */
export function signedHeaders(
  queueId: bigint,
  body: string,
  keys: SigningKeys,
  nowMs: number,
): Record<string, string> {
  const id = `msg_${queueId.toString()}`;
  const timestamp = Math.floor(nowMs / 1000).toString();
  const secrets = [keys.current];
  if (keys.previous !== null && (keys.previousExpiresAtMs ?? 0) > nowMs) secrets.push(keys.previous);
  const signature = secrets
    .map(
      (secret) =>
        `v1,${createHmac("sha256", signingKeyOf(secret)).update(`${id}.${timestamp}.${body}`).digest("base64")}`,
    )
    .join(" ");
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature };
}
