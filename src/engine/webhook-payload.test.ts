import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { Delivery } from "../app/consume/delivery-service.js";
import type { SigningKeys } from "../app/ports/subscriber-repository.js";
import type { Subscription } from "../domain/subscription.js";
import { pushRequest, signedHeaders, webhookId } from "./webhook-payload.js";

const PUBLISHED_AT_MS = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const PUBLISH_TIME = "2026-01-02T03:04:05.678Z";
const SECRET = `whsec_${Buffer.from("a-32-byte-signing-key-for-tests!").toString("base64")}`;

function subscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    id: 7n,
    name: "audit",
    subscriberId: 1n,
    topicId: 3n,
    topicCode: "orders.created",
    deliveryType: "push",
    isActive: true,
    createdAtMs: 0,
    updatedAtMs: 0,
    deletedAtMs: null,
    callbackUrl: "https://h.example/in",
    pausedAtMs: null,
    pauseReason: null,
    pushFailingSinceMs: null,
    lastPushSuccessAtMs: null,
    deadLetterTopicCode: null,
    pubsubProject: "",
    pushHeaderNames: [],
    identifierFilter: "",
    pushEndpoint: "https://h.example/in",
    ackDeadlineSeconds: 30,
    maxDeliveryAttempts: 5,
    minBackoffMs: 10_000,
    maxBackoffMs: 600_000,
    retryScheduleMs: [],
    oidcServiceAccountEmail: "",
    oidcAudience: "",
    pushRateLimitPerSecond: 0,
    messageTtlMs: 86_400_000,
    enableOrdering: false,
    retainAckedMessages: false,
    enableExactlyOnceDelivery: false,
    attributeFilter: "",
    pushPayload: "wrapped",
    deadLetterTopicId: null,
    ...overrides,
  };
}

function delivery(message: Partial<Delivery["message"]> = {}): Delivery {
  return {
    ref: { queueId: 55n, leaseToken: 1n },
    ackId: "ack",
    deliveryAttempt: 2,
    sizeBytes: 3,
    message: {
      id: 123n,
      topicId: 3n,
      publisherId: 4n,
      identifier: "user-1",
      orderingKey: "",
      data: new Uint8Array([104, 105, 0, 255]),
      attributes: { region: "eu" },
      createdAtMs: PUBLISHED_AT_MS,
      ...message,
    },
  };
}

function json(body: string | Uint8Array): unknown {
  expect(typeof body).toBe("string");
  return JSON.parse(body as string);
}

describe("pushRequest, wrapped", () => {
  it("sends the Pub/Sub JSON envelope with base64 data and both name styles", () => {
    const request = pushRequest(subscription(), delivery({ orderingKey: "k-1" }));
    expect(request.headers).toEqual({ "content-type": "application/json" });
    expect(json(request.body)).toEqual({
      message: {
        data: Buffer.from([104, 105, 0, 255]).toString("base64"),
        attributes: { region: "eu" },
        messageId: "123",
        message_id: "123",
        publishTime: PUBLISH_TIME,
        publish_time: PUBLISH_TIME,
        orderingKey: "k-1",
        identifier: "user-1",
        topic: "orders.created",
      },
      subscription: "audit",
      deliveryAttempt: 2,
    });
  });

  it("leaves out the ordering key when the message has none", () => {
    const body = json(pushRequest(subscription(), delivery()).body) as { message: object };
    expect(body.message).not.toHaveProperty("orderingKey");
  });

  it("names the subscription by its Pub/Sub resource name when it was created through that API", () => {
    const body = json(pushRequest(subscription({ pubsubProject: "my-proj" }), delivery()).body);
    expect(body).toMatchObject({ subscription: "projects/my-proj/subscriptions/audit" });
  });
});

describe("pushRequest, unwrapped", () => {
  it("sends the raw bytes as application/octet-stream and no metadata", () => {
    const request = pushRequest(
      subscription({ pushPayload: "unwrapped" }),
      delivery({ orderingKey: "k-1", attributes: { region: "eu" } }),
    );
    expect(request.body).toEqual(new Uint8Array([104, 105, 0, 255]));
    expect(request.headers).toEqual({ "content-type": "application/octet-stream" });
  });
});

describe("pushRequest, unwrapped with metadata", () => {
  const withMetadata = (message: Partial<Delivery["message"]>, overrides: Partial<Subscription> = {}) =>
    pushRequest(subscription({ pushPayload: "unwrapped_metadata", ...overrides }), delivery(message));

  it("sends the raw bytes with the attributes and the Pub/Sub metadata as headers", () => {
    const request = withMetadata({ attributes: { Region: "eu", "x-trace": "abc" }, orderingKey: "k-1" });
    expect(request.body).toEqual(new Uint8Array([104, 105, 0, 255]));
    expect(request.headers).toEqual({
      "content-type": "application/octet-stream",
      region: "eu",
      "x-trace": "abc",
      "x-goog-pubsub-subscription-name": "audit",
      "x-goog-pubsub-message-id": "123",
      "x-goog-pubsub-publish-time": PUBLISH_TIME,
      "x-goog-pubsub-ordering-key": "k-1",
    });
  });

  it("names the subscription by its Pub/Sub resource name and leaves out an empty ordering key", () => {
    const request = withMetadata({ attributes: {} }, { pubsubProject: "my-proj" });
    expect(request.headers["x-goog-pubsub-subscription-name"]).toBe("projects/my-proj/subscriptions/audit");
    expect(request.headers).not.toHaveProperty("x-goog-pubsub-ordering-key");
  });

  it.each([
    "content-type",
    "Content-Length",
    "host",
    "connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "user-agent",
    "keep-alive",
    "proxy-authorization",
    "expect",
    "webhook-signature",
    "Webhook-Id",
    "x-goog-pubsub-message-id",
    "x-goog-iap-jwt-assertion",
    "authorization",
    "Cookie",
    "set-cookie",
    "x-api-key",
    "forwarded",
    "X-Forwarded-For",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "x-original-url",
    "x-http-method-override",
    "x-envoy-original-path",
    "x-amzn-oidc-identity",
    "x-ssl-client-verify",
    "x-client-cert",
    "x-user-id",
    "via",
  ])("does not let the attribute %s become a header", (name) => {
    const request = withMetadata({ attributes: { [name]: "forged", kept: "yes" } });
    const forged = Object.entries(request.headers).filter(([, value]) => value === "forged");
    expect(forged).toEqual([]);
    expect(request.headers.kept).toBe("yes");
  });

  it.each([
    ["a space in the name", "bad name"],
    ["a colon in the name", "bad:name"],
    ["a non-ASCII name", "régión"],
    ["an empty name", ""],
  ])("skips an attribute with %s", (_case, name) => {
    const request = withMetadata({ attributes: { [name]: "v", kept: "yes" } });
    expect(Object.keys(request.headers).sort()).toEqual([
      "content-type",
      "kept",
      "x-goog-pubsub-message-id",
      "x-goog-pubsub-publish-time",
      "x-goog-pubsub-subscription-name",
    ]);
  });

  it.each([
    ["a newline", "a\r\nInjected: 1"],
    ["a NUL", "a\u0000b"],
    ["DEL", "a\u007fb"],
  ])("skips an attribute whose value has %s, and such an ordering key", (_case, value) => {
    const request = withMetadata({ attributes: { bad: value, kept: "yes" }, orderingKey: value });
    expect(request.headers).not.toHaveProperty("bad");
    expect(request.headers).not.toHaveProperty("x-goog-pubsub-ordering-key");
    expect(request.headers.kept).toBe("yes");
  });

  it("keeps a value with a tab", () => {
    expect(withMetadata({ attributes: { k: "a\tb" } }).headers.k).toBe("a\tb");
  });
});

describe("webhookId", () => {
  it("names the subscription and the message, so a retry or a replay keeps it", () => {
    expect(webhookId(7n, 12345n)).toBe("msg_7_12345");
    expect(webhookId(7n, 12345n)).not.toBe(webhookId(8n, 12345n));
  });
});

describe("signedHeaders", () => {
  const keys: SigningKeys = { current: SECRET, previous: null, previousExpiresAtMs: null };

  it("signs a byte body exactly as the same text body, verifiable with Standard Webhooks", () => {
    const nowMs = Date.now();
    const text = '{"message":{"data":"aGk="},"note":"ünïcode"}';
    const fromBytes = signedHeaders("msg_55", new TextEncoder().encode(text), keys, nowMs);
    expect(fromBytes).toEqual(signedHeaders("msg_55", text, keys, nowMs));
    expect(fromBytes["webhook-id"]).toBe("msg_55");
    expect(fromBytes["webhook-timestamp"]).toBe(String(Math.floor(nowMs / 1000)));
    expect(() => new Webhook(SECRET).verify(Buffer.from(text), fromBytes)).not.toThrow();
    expect(() => new Webhook(SECRET).verify(`${text} `, fromBytes)).toThrow();
  });

  it("signs the raw bytes of a body that is not UTF-8", () => {
    const nowMs = 1_700_000_000_999;
    const body = new Uint8Array([0xff, 0xfe, 0x00, 0x80]);
    const expected = createHmac("sha256", Buffer.from(SECRET.slice("whsec_".length), "base64"))
      .update("msg_55.1700000000.")
      .update(body)
      .digest("base64");
    expect(signedHeaders("msg_55", body, keys, nowMs)["webhook-signature"]).toBe(`v1,${expected}`);
  });

  it("signs with the previous secret too while it has not expired", () => {
    const previous = `whsec_${Buffer.from("another-32-byte-key-for-testing!").toString("base64")}`;
    const nowMs = Date.now();
    const rotating = { current: SECRET, previous, previousExpiresAtMs: nowMs + 1 };
    const headers = signedHeaders("msg_9", "body", rotating, nowMs);
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(() => new Webhook(previous).verify("body", headers, { jsonParse: false })).not.toThrow();
    const expired = signedHeaders("msg_9", "body", { ...rotating, previousExpiresAtMs: nowMs }, nowMs);
    expect(expired["webhook-signature"]?.split(" ")).toHaveLength(1);
  });
});
