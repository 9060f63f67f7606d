import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { DurationSchema, timestampMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import {
  BigQueryConfigSchema,
  BigtableConfigSchema,
  CloudStorageConfigSchema,
  DeadLetterPolicySchema,
  MessageTransformSchema,
  PushConfig_NoWrapperSchema,
  PushConfig_OidcTokenSchema,
  PushConfig_PubsubWrapperSchema,
  PushConfigSchema,
  RetryPolicySchema,
  Subscription_State,
  SubscriptionSchema,
} from "../../../gen/google/pubsub/v1/pubsub_pb.js";
import type { Delivery } from "../../app/consume/delivery-service.js";
import { DomainError } from "../../domain/domain-error.js";
import { DEFAULT_PUSH_RETRY_SCHEDULE_MS } from "../../domain/retry-schedule.js";
import type { Subscription } from "../../domain/subscription.js";
import {
  createInputFromPubsub,
  PUBSUB_DEFAULTS,
  pushSettingsFromPubsub,
  receivedToPubsub,
  rejectUnsupported,
  subscriptionToPubsub,
} from "./pubsub-conversion.js";

const SUBSCRIBER_ID = 42n;

function pubsubSubscription(init: MessageInitShape<typeof SubscriptionSchema> = {}) {
  return create(SubscriptionSchema, {
    name: "projects/p/subscriptions/audit",
    topic: "projects/p/topics/orders",
    ...init,
  });
}

function seconds(s: number) {
  return create(DurationSchema, { seconds: BigInt(s) });
}

/** A Herald subscription as the repository returns it; every field set by hand. */
function heraldSubscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    id: 7n,
    name: "audit",
    subscriberId: SUBSCRIBER_ID,
    topicId: 3n,
    topicCode: "orders",
    deliveryType: "pull",
    isActive: true,
    createdAtMs: 1_700_000_000_000,
    updatedAtMs: 1_700_000_000_000,
    deletedAtMs: null,
    callbackUrl: "",
    pausedAtMs: null,
    pauseReason: null,
    pushFailingSinceMs: null,
    lastPushSuccessAtMs: null,
    deadLetterTopicCode: null,
    pubsubProject: "p",
    pushHeaderNames: [],
    identifierFilter: "",
    pushEndpoint: "",
    ackDeadlineSeconds: 10,
    maxDeliveryAttempts: 100,
    minBackoffMs: 0,
    maxBackoffMs: 0,
    retryScheduleMs: [],
    oidcServiceAccountEmail: "",
    oidcAudience: "",
    pushRateLimitPerSecond: 0,
    messageTtlMs: 7 * 24 * 60 * 60 * 1000,
    enableOrdering: false,
    retainAckedMessages: false,
    enableExactlyOnceDelivery: false,
    attributeFilter: "",
    pushPayload: "wrapped",
    deadLetterTopicId: null,
    ...overrides,
  };
}

/** Runs `convert` and returns the DomainError it threw (fails the test when it did not throw one). */
function errorOf(convert: () => unknown): DomainError {
  try {
    convert();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error("expected the conversion to be rejected");
}

function invalidField(convert: () => unknown) {
  const error = errorOf(convert);
  return { kind: error.kind, field: error.field };
}

describe("createInputFromPubsub", () => {
  it("applies Pub/Sub's defaults to a subscription that sets only its topic", () => {
    expect(createInputFromPubsub(pubsubSubscription(), "audit", SUBSCRIBER_ID, "p")).toEqual({
      name: "audit",
      subscriberId: SUBSCRIBER_ID,
      topicCode: "orders",
      pubsubProject: "p",
      deliveryType: "pull",
      pushEndpoint: "",
      pushPayload: "wrapped",
      oidcServiceAccountEmail: "",
      oidcAudience: "",
      ackDeadlineSeconds: 10,
      messageTtlMs: 7 * 24 * 60 * 60 * 1000,
      enableOrdering: false,
      attributeFilter: "",
      retainAckedMessages: false,
      enableExactlyOnceDelivery: false,
      deadLetterTopic: "",
      maxDeliveryAttempts: 100,
      minBackoffMs: 0,
      maxBackoffMs: 0,
    });
  });

  it("keeps the settings the request gives", () => {
    const input = createInputFromPubsub(
      pubsubSubscription({
        ackDeadlineSeconds: 60,
        messageRetentionDuration: seconds(3_600),
        enableMessageOrdering: true,
        filter: 'attributes.region = "eu"',
      }),
      "audit",
      SUBSCRIBER_ID,
      "p",
    );
    expect(input).toMatchObject({
      ackDeadlineSeconds: 60,
      messageTtlMs: 3_600_000,
      enableOrdering: true,
      attributeFilter: 'attributes.region = "eu"',
    });
  });

  it("requires a topic", () => {
    expect(
      invalidField(() => createInputFromPubsub(pubsubSubscription({ topic: "" }), "a", 1n, "p")),
    ).toEqual({ kind: "invalid_argument", field: "topic" });
  });

  it("rejects a malformed topic name, naming the topic field", () => {
    expect(
      invalidField(() =>
        createInputFromPubsub(pubsubSubscription({ topic: "projects/p/subscriptions/x" }), "a", 1n, "p"),
      ),
    ).toEqual({ kind: "invalid_argument", field: "topic" });
  });

  it("rejects a negative retention duration", () => {
    const s = pubsubSubscription({ messageRetentionDuration: create(DurationSchema, { seconds: -1n }) });
    expect(invalidField(() => createInputFromPubsub(s, "a", 1n, "p"))).toEqual({
      kind: "invalid_argument",
      field: "message_retention_duration",
    });
  });

  describe("dead-letter policy", () => {
    const withPolicy = (init: MessageInitShape<typeof DeadLetterPolicySchema>) =>
      createInputFromPubsub(
        pubsubSubscription({ deadLetterPolicy: create(DeadLetterPolicySchema, init) }),
        "a",
        1n,
        "p",
      );

    it("takes the dead-letter topic's code and defaults to five attempts", () => {
      expect(withPolicy({ deadLetterTopic: "projects/other/topics/orders.dead" })).toMatchObject({
        deadLetterTopic: "orders.dead",
        maxDeliveryAttempts: PUBSUB_DEFAULTS.deadLetterMaxDeliveryAttempts,
      });
      expect(PUBSUB_DEFAULTS.deadLetterMaxDeliveryAttempts).toBe(5);
    });

    it.each([5, 37, 100])("accepts %i attempts", (attempts) => {
      expect(
        withPolicy({ deadLetterTopic: "projects/p/topics/dead", maxDeliveryAttempts: attempts })
          .maxDeliveryAttempts,
      ).toBe(attempts);
    });

    it.each([1, 4, 101])("rejects %i attempts", (attempts) => {
      const error = errorOf(() =>
        withPolicy({ deadLetterTopic: "projects/p/topics/dead", maxDeliveryAttempts: attempts }),
      );
      expect({ kind: error.kind, field: error.field, message: error.message }).toEqual({
        kind: "invalid_argument",
        field: "dead_letter_policy.max_delivery_attempts",
        message: "dead_letter_policy.max_delivery_attempts: must be between 5 and 100",
      });
    });

    it("requires the dead-letter topic", () => {
      expect(invalidField(() => withPolicy({ maxDeliveryAttempts: 5 }))).toEqual({
        kind: "invalid_argument",
        field: "dead_letter_policy.dead_letter_topic",
      });
    });

    it("rejects a malformed dead-letter topic, naming its field", () => {
      expect(invalidField(() => withPolicy({ deadLetterTopic: "dead" }))).toEqual({
        kind: "invalid_argument",
        field: "dead_letter_policy.dead_letter_topic",
      });
    });
  });

  describe("retry policy", () => {
    const withPolicy = (init: MessageInitShape<typeof RetryPolicySchema>) =>
      createInputFromPubsub(
        pubsubSubscription({ retryPolicy: create(RetryPolicySchema, init) }),
        "a",
        1n,
        "p",
      );

    it("defaults to 10s and 600s when the policy gives no bounds", () => {
      expect(withPolicy({})).toMatchObject({ minBackoffMs: 10_000, maxBackoffMs: 600_000 });
    });

    it("keeps the bounds the policy gives", () => {
      expect(withPolicy({ minimumBackoff: seconds(1), maximumBackoff: seconds(600) })).toMatchObject({
        minBackoffMs: 1_000,
        maxBackoffMs: 600_000,
      });
    });

    it("rejects a minimum backoff over 600s", () => {
      expect(invalidField(() => withPolicy({ minimumBackoff: seconds(601) }))).toEqual({
        kind: "invalid_argument",
        field: "retry_policy.minimum_backoff",
      });
    });

    it("rejects a maximum backoff over 600s", () => {
      expect(invalidField(() => withPolicy({ maximumBackoff: seconds(601) }))).toEqual({
        kind: "invalid_argument",
        field: "retry_policy.maximum_backoff",
      });
    });
  });
});

describe("pushSettingsFromPubsub", () => {
  it("means pull when there is no push config or its endpoint is empty", () => {
    const pull = {
      deliveryType: "pull",
      pushEndpoint: "",
      pushPayload: "wrapped",
      oidcServiceAccountEmail: "",
      oidcAudience: "",
    };
    expect(pushSettingsFromPubsub(undefined)).toEqual(pull);
    expect(pushSettingsFromPubsub(create(PushConfigSchema, {}))).toEqual(pull);
  });

  it("pushes the wrapped envelope without a wrapper choice or with pubsub_wrapper", () => {
    const expected = {
      deliveryType: "push",
      pushEndpoint: "https://h.example/in",
      pushPayload: "wrapped",
      oidcServiceAccountEmail: "",
      oidcAudience: "",
    };
    expect(
      pushSettingsFromPubsub(create(PushConfigSchema, { pushEndpoint: "https://h.example/in" })),
    ).toEqual(expected);
    expect(
      pushSettingsFromPubsub(
        create(PushConfigSchema, {
          pushEndpoint: "https://h.example/in",
          wrapper: { case: "pubsubWrapper", value: create(PushConfig_PubsubWrapperSchema, {}) },
        }),
      ),
    ).toEqual(expected);
  });

  it.each([
    [false, "unwrapped"],
    [true, "unwrapped_metadata"],
  ] as const)("pushes raw data for no_wrapper with write_metadata %s", (writeMetadata, payload) => {
    const config = create(PushConfigSchema, {
      pushEndpoint: "https://h.example/in",
      wrapper: { case: "noWrapper", value: create(PushConfig_NoWrapperSchema, { writeMetadata }) },
    });
    expect(pushSettingsFromPubsub(config)).toEqual({
      deliveryType: "push",
      pushEndpoint: "https://h.example/in",
      pushPayload: payload,
      oidcServiceAccountEmail: "",
      oidcAudience: "",
    });
  });

  it("takes the OIDC token's service account and audience, and requires the service account", () => {
    const config = (serviceAccountEmail: string) =>
      create(PushConfigSchema, {
        pushEndpoint: "https://h.example/in",
        authenticationMethod: {
          case: "oidcToken",
          value: create(PushConfig_OidcTokenSchema, { serviceAccountEmail, audience: "https://aud.example" }),
        },
      });
    expect(pushSettingsFromPubsub(config("a@p.iam.gserviceaccount.com"))).toMatchObject({
      oidcServiceAccountEmail: "a@p.iam.gserviceaccount.com",
      oidcAudience: "https://aud.example",
    });
    expect(errorOf(() => pushSettingsFromPubsub(config(""))).field).toBe(
      "push_config.oidc_token.service_account_email",
    );
  });
});

describe("exactly-once delivery", () => {
  it("carries enable_exactly_once_delivery into Herald's create input", () => {
    const input = createInputFromPubsub(
      pubsubSubscription({ enableExactlyOnceDelivery: true }),
      "audit",
      SUBSCRIBER_ID,
      "p",
    );
    expect(input.enableExactlyOnceDelivery).toBe(true);
  });
});

describe("rejectUnsupported", () => {
  it("accepts a subscription that uses only supported fields", () => {
    expect(() => rejectUnsupported(pubsubSubscription({ filter: "attributes:k" }))).not.toThrow();
  });

  it.each<[string, MessageInitShape<typeof SubscriptionSchema>]>([
    ["BigQuery subscriptions", { bigqueryConfig: create(BigQueryConfigSchema, {}) }],
    ["Cloud Storage subscriptions", { cloudStorageConfig: create(CloudStorageConfigSchema, {}) }],
    ["Bigtable subscriptions", { bigtableConfig: create(BigtableConfigSchema, {}) }],
    ["message transforms", { messageTransforms: [create(MessageTransformSchema, {})] }],
  ])("answers UNIMPLEMENTED for %s", (what, init) => {
    const error = errorOf(() => rejectUnsupported(pubsubSubscription(init)));
    expect(error.kind).toBe("unimplemented");
    expect(error.message).toContain(what);
    // createInputFromPubsub checks them too.
    expect(errorOf(() => createInputFromPubsub(pubsubSubscription(init), "a", 1n, "p")).kind).toBe(
      "unimplemented",
    );
  });
});

describe("subscriptionToPubsub", () => {
  it("describes a pull subscription with Pub/Sub's defaults and no policies", () => {
    const pb = subscriptionToPubsub("p", heraldSubscription());
    expect(pb.name).toBe("projects/p/subscriptions/audit");
    expect(pb.topic).toBe("projects/p/topics/orders");
    expect(pb.pushConfig).toBeUndefined();
    expect(pb.deadLetterPolicy).toBeUndefined();
    expect(pb.retryPolicy).toBeUndefined();
    expect(pb.ackDeadlineSeconds).toBe(10);
    expect(pb.state).toBe(Subscription_State.ACTIVE);
  });

  it("reports an inactive subscription without the ACTIVE state", () => {
    expect(subscriptionToPubsub("p", heraldSubscription({ isActive: false })).state).toBe(
      Subscription_State.STATE_UNSPECIFIED,
    );
  });

  it.each([
    ["a default pull subscription", heraldSubscription()],
    [
      "a push subscription with every policy",
      heraldSubscription({
        deliveryType: "push",
        pushEndpoint: "https://h.example/in",
        callbackUrl: "https://h.example/in",
        pushPayload: "unwrapped_metadata",
        ackDeadlineSeconds: 45,
        messageTtlMs: 3_600_500,
        enableOrdering: true,
        attributeFilter: 'attributes.region = "eu"',
        deadLetterTopicId: 9n,
        deadLetterTopicCode: "orders.dead",
        maxDeliveryAttempts: 12,
        oidcServiceAccountEmail: "pusher@p.iam.gserviceaccount.com",
        oidcAudience: "https://aud.example",
        minBackoffMs: 1_500,
        maxBackoffMs: 300_000,
      }),
    ],
    [
      "an unwrapped push subscription",
      heraldSubscription({
        deliveryType: "push",
        pushEndpoint: "https://h.example/raw",
        callbackUrl: "https://h.example/raw",
        // What a Pub/Sub push subscription created without a retry policy gets.
        retryScheduleMs: DEFAULT_PUSH_RETRY_SCHEDULE_MS,
        pushPayload: "unwrapped",
      }),
    ],
    [
      "a wrapped push subscription",
      heraldSubscription({
        deliveryType: "push",
        pushEndpoint: "https://h.example/env",
        callbackUrl: "https://h.example/env",
        // What a Pub/Sub push subscription created without a retry policy gets.
        retryScheduleMs: DEFAULT_PUSH_RETRY_SCHEDULE_MS,
        pushPayload: "wrapped",
      }),
    ],
  ])("round-trips %s through a CreateSubscription request", (_case, s) => {
    const pb = subscriptionToPubsub("p", s);
    const input = createInputFromPubsub(pb, s.name, s.subscriberId, "p");
    expect(input).toEqual({
      name: s.name,
      subscriberId: s.subscriberId,
      topicCode: s.topicCode,
      pubsubProject: "p",
      deliveryType: s.deliveryType,
      pushEndpoint: s.pushEndpoint,
      pushPayload: s.pushPayload,
      oidcServiceAccountEmail: s.oidcServiceAccountEmail,
      oidcAudience: s.oidcAudience,
      ackDeadlineSeconds: s.ackDeadlineSeconds,
      messageTtlMs: s.messageTtlMs,
      enableOrdering: s.enableOrdering,
      attributeFilter: s.attributeFilter,
      retainAckedMessages: s.retainAckedMessages,
      enableExactlyOnceDelivery: s.enableExactlyOnceDelivery,
      deadLetterTopic: s.deadLetterTopicCode ?? "",
      maxDeliveryAttempts: s.maxDeliveryAttempts,
      ...(s.retryScheduleMs.length === 0
        ? { minBackoffMs: s.minBackoffMs, maxBackoffMs: s.maxBackoffMs }
        : {}),
    });
  });

  it("leaves a push subscription without a retry policy to Herald's default push schedule", () => {
    const input = createInputFromPubsub(
      pubsubSubscription({ pushConfig: { pushEndpoint: "https://h.example/in" } }),
      "audit",
      SUBSCRIBER_ID,
      "p",
    );
    expect(input.minBackoffMs).toBeUndefined();
    expect(input.maxBackoffMs).toBeUndefined();
    expect(input.retryScheduleMs).toBeUndefined();
  });

  it("names the dead-letter topic in the requested project", () => {
    const pb = subscriptionToPubsub(
      "other",
      heraldSubscription({ deadLetterTopicId: 9n, deadLetterTopicCode: "dead", maxDeliveryAttempts: 5 }),
    );
    expect(pb.deadLetterPolicy?.deadLetterTopic).toBe("projects/other/topics/dead");
    expect(pb.deadLetterPolicy?.maxDeliveryAttempts).toBe(5);
  });
});

describe("receivedToPubsub", () => {
  const delivery: Delivery = {
    ref: { queueId: 11n, leaseToken: 2n },
    ackId: "ack-11-2",
    deliveryAttempt: 3,
    sizeBytes: 10,
    message: {
      id: 123n,
      topicId: 3n,
      publisherId: 4n,
      identifier: "user-1",
      orderingKey: "key-1",
      data: new Uint8Array([0, 1, 255]),
      attributes: { region: "eu" },
      createdAtMs: 1_700_000_000_123,
    },
  };

  it("carries the message, its id as text and its publish time", () => {
    const received = receivedToPubsub(heraldSubscription(), delivery);
    expect(received.ackId).toBe("ack-11-2");
    expect(received.message?.data).toEqual(new Uint8Array([0, 1, 255]));
    expect(received.message?.attributes).toEqual({ region: "eu" });
    expect(received.message?.messageId).toBe("123");
    expect(received.message?.orderingKey).toBe("key-1");
    const publishTime = received.message?.publishTime;
    expect(publishTime && timestampMs(publishTime)).toBe(1_700_000_000_123);
  });

  it("reports no delivery attempt when the subscription has no dead-letter topic", () => {
    expect(receivedToPubsub(heraldSubscription(), delivery).deliveryAttempt).toBe(0);
  });

  it("reports the delivery attempt when the subscription has a dead-letter topic", () => {
    const s = heraldSubscription({ deadLetterTopicId: 9n, deadLetterTopicCode: "dead" });
    expect(receivedToPubsub(s, delivery).deliveryAttempt).toBe(3);
  });
});
