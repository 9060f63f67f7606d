/**
 * The world the hostile-input suite attacks: publishers, topics, subscribers and subscriptions with
 * known names (a quiet PULL subscription, a PUSH one on a topic nobody publishes to, one with dead
 * letters), and for every RPC a valid-looking request that points at them, for cases to corrupt.
 */
import type { DescMethod, JsonObject } from "@bufbuild/protobuf";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { encodeAckId } from "../../src/app/consume/ack-id.js";
import type { HeraldTestClients } from "./herald-clients.js";
import type { MethodTarget } from "./hostile-case.js";

/** What the fixture created, for request bases and semantic attacks. */
export interface HostileFixture {
  subscriberId: bigint;
  subscriberId2: bigint;
  deadLetterIds: bigint[];
}

/** A forged but well-formed ack id (queue row 1, a lease token no delivery has). */
export const FORGED_ACK_ID = encodeAckId({ queueId: 1n, leaseToken: 2n ** 62n });

/** Valid-looking requests, one or more per RPC, pointing at fixture entities. */
export function methodTargets(methods: readonly DescMethod[], fx: HostileFixture): MethodTarget[] {
  const S = fx.subscriberId.toString();
  const S2 = fx.subscriberId2.toString();
  const D = (fx.deadLetterIds[0] ?? 1n).toString();
  const range = { movedAfter: "2020-01-01T00:00:00Z", movedBefore: "2100-01-01T00:00:00Z" };
  const settings = {
    ackDeadlineSeconds: 30,
    maxDeliveryAttempts: 5,
    minBackoff: "1s",
    maxBackoff: "10s",
    messageTtl: "3600s",
    enableOrdering: false,
  };
  const bases: Record<
    string,
    { base: JsonObject; keyFields?: string[] } | { base: JsonObject; keyFields?: string[] }[]
  > = {
    CreatePublisher: {
      base: { code: "hostile-new-pub", name: "New", description: "d" },
      keyFields: ["code", "name"],
    },
    GetPublisher: { base: { code: "hostile-pub" }, keyFields: ["code"] },
    ListPublishers: { base: { pageSize: 2, pageToken: "" }, keyFields: ["pageToken"] },
    UpdatePublisher: {
      base: { code: "hostile-pub", name: "Hostile publisher", description: "", isActive: true },
      keyFields: ["code", "name"],
    },
    DeletePublisher: { base: { code: "hostile-missing-pub" }, keyFields: ["code"] },
    RotatePublisherKey: { base: { code: "hostile-pub-2", overlap: "60s" }, keyFields: ["code"] },
    CreateTopic: { base: { code: "hostile.new", name: "New", description: "" }, keyFields: ["code", "name"] },
    GetTopic: { base: { code: "hostile.topic" }, keyFields: ["code"] },
    ListTopics: { base: { pageSize: 2, pageToken: "" }, keyFields: ["pageToken"] },
    UpdateTopic: {
      base: { code: "hostile.topic", name: "Hostile topic", description: "", isActive: true },
      keyFields: ["code", "name"],
    },
    DeleteTopic: { base: { code: "hostile.missing" }, keyFields: ["code"] },
    CreateSubscriber: {
      base: { clientId: "1", name: "hostile-new-subscriber", webhookUrl: "https://hooks.example.com/in" },
      keyFields: ["name", "webhookUrl"],
    },
    GetSubscriber: { base: { id: S } },
    ListSubscribers: { base: { pageSize: 2, pageToken: "", clientId: "1" }, keyFields: ["pageToken"] },
    UpdateSubscriber: {
      base: { id: S, name: "hostile-subscriber", webhookUrl: "https://hooks.example.com/in", isActive: true },
      keyFields: ["name", "webhookUrl"],
    },
    DeleteSubscriber: { base: { id: "999999" } },
    RotateSubscriberSecret: { base: { id: S, overlap: "60s" } },
    RotateSubscriberKey: { base: { id: S2, overlap: "60s" } },
    CreateSubscription: {
      base: {
        name: "hostile-new-sub",
        subscriberId: S,
        topic: "hostile.idle",
        identifier: "user-*",
        deliveryType: "DELIVERY_TYPE_PULL",
        pushEndpoint: "",
        ...settings,
      },
      keyFields: ["name", "topic", "identifier", "pushEndpoint"],
    },
    GetSubscription: { base: { name: "hostile-sink" }, keyFields: ["name"] },
    ListSubscriptions: {
      base: { pageSize: 2, pageToken: "", topic: "hostile.topic", subscriberId: S, showDeleted: true },
      keyFields: ["topic", "pageToken"],
    },
    UpdateSubscription: {
      base: { name: "hostile-idle", identifier: "user-*", ...settings },
      keyFields: ["name", "identifier", "pushEndpoint"],
    },
    DeleteSubscription: { base: { name: "hostile-missing-sub" }, keyFields: ["name"] },
    PauseSubscription: {
      base: { name: "hostile-push", reason: "maintenance" },
      keyFields: ["name", "reason"],
    },
    ResumeSubscription: { base: { name: "hostile-push" }, keyFields: ["name"] },
    GetSubscriptionStats: { base: { name: "hostile-sink" }, keyFields: ["name"] },
    SeekSubscription: [
      { base: { name: "hostile-idle", time: "2020-01-01T00:00:00Z" }, keyFields: ["name"] },
      { base: { name: "hostile-idle", snapshot: "hostile-snap" }, keyFields: ["name", "snapshot"] },
    ],
    CreateSnapshot: {
      base: { name: "hostile-new-snap", subscription: "hostile-idle", labels: { env: "x" } },
      keyFields: ["name", "subscription"],
    },
    GetSnapshot: { base: { name: "hostile-snap" }, keyFields: ["name"] },
    ListSnapshots: {
      base: { pageSize: 2, pageToken: "", topic: "hostile.idle" },
      keyFields: ["pageToken", "topic"],
    },
    UpdateSnapshot: {
      base: { name: "hostile-snap", labels: { env: "y" }, updateMask: "labels" },
      keyFields: ["name"],
    },
    DeleteSnapshot: { base: { name: "hostile-missing-snap" }, keyFields: ["name"] },
    ListQueueItems: {
      base: { subscription: "hostile-sink", status: "pending", pageSize: 2, pageToken: "" },
      keyFields: ["subscription", "status", "pageToken"],
    },
    ListNotificationLogs: {
      base: {
        messageId: "1",
        subscription: "hostile-dlq",
        subscriberId: S2,
        deliveryMethod: "pull",
        status: "failed",
        startTime: "2020-01-01T00:00:00Z",
        endTime: "2100-01-01T00:00:00Z",
        pageSize: 2,
        pageToken: "",
      },
      keyFields: ["messageId", "subscription", "deliveryMethod", "status", "pageToken"],
    },
    Publish: {
      base: {
        publisher: "hostile-pub",
        topic: "hostile.topic",
        messages: [
          { data: "aGk=", attributes: { k: "v" }, orderingKey: "", identifier: "user-1", dedupId: "" },
        ],
      },
      keyFields: [
        "publisher",
        "topic",
        "messages[0].identifier",
        "messages[0].orderingKey",
        "messages[0].dedupId",
      ],
    },
    Subscribe: {
      base: {
        subscription: "hostile-quiet",
        maxOutstandingMessages: 10,
        maxOutstandingBytes: "1000",
        ackDeadlineSeconds: 30,
      },
      keyFields: ["subscription"],
    },
    Pull: {
      base: { subscription: "hostile-quiet", maxMessages: 10, maxWait: "0s" },
      keyFields: ["subscription"],
    },
    Acknowledge: {
      base: { subscription: "hostile-quiet", ackIds: [FORGED_ACK_ID] },
      keyFields: ["subscription", "ackIds"],
    },
    ModifyAckDeadline: {
      base: { subscription: "hostile-quiet", ackIds: [FORGED_ACK_ID], ackDeadlineSeconds: 10 },
      keyFields: ["subscription", "ackIds"],
    },
    Reject: {
      base: { subscription: "hostile-quiet", ackIds: [FORGED_ACK_ID], reason: "poison" },
      keyFields: ["subscription", "ackIds", "reason"],
    },
    ListDeadLetters: {
      base: {
        filter: {
          subscription: "hostile-dlq",
          resolution: "RESOLUTION_FILTER_UNRESOLVED",
          failureReason: "MAX_ATTEMPTS",
          ...range,
        },
        pageSize: 2,
        pageToken: "",
      },
      keyFields: ["filter.subscription", "filter.failureReason", "pageToken"],
    },
    GetDeadLetter: { base: { id: D } },
    GetDeadLetterStats: { base: { subscription: "hostile-dlq" }, keyFields: ["subscription"] },
    ReplayDeadLetters: [
      { base: { ids: ["999999"], resolvedBy: "alice", force: false }, keyFields: ["resolvedBy"] },
      {
        base: {
          filter: {
            subscription: "hostile-quiet",
            resolution: "RESOLUTION_FILTER_UNRESOLVED",
            failureReason: "MAX_ATTEMPTS",
            ...range,
          },
          resolvedBy: "alice",
        },
        keyFields: ["filter.subscription", "filter.failureReason"],
      },
    ],
    ResolveDeadLetters: {
      base: { ids: ["999999"], resolvedBy: "alice", note: "checked" },
      keyFields: ["resolvedBy"],
    },
    PurgeDeadLetters: {
      base: { olderThan: "2000-01-01T00:00:00Z", includeUnresolved: false, subscription: "hostile-quiet" },
      keyFields: ["subscription"],
    },
    Check: { base: { service: "" }, keyFields: ["service"] },
    GetCaller: { base: {} },
    GetDeliveryHistory: { base: { subscription: "hostile-dlq", minutes: 60 }, keyFields: ["subscription"] },
    ListCallerSubscriptions: { base: { pageSize: 2, pageToken: "" }, keyFields: ["pageToken"] },
    ListCallerDeliveries: {
      base: { subscription: "hostile-dlq", status: "failed", pageSize: 2, pageToken: "" },
      keyFields: ["subscription", "status", "pageToken"],
    },
    ListCallerDeadLetters: {
      base: {
        subscription: "hostile-dlq",
        resolution: "RESOLUTION_FILTER_UNRESOLVED",
        pageSize: 2,
        pageToken: "",
      },
      keyFields: ["subscription", "pageToken"],
    },
    GetCallerDeadLetter: { base: { id: D } },
  };
  return methods.flatMap((method) => {
    // An RPC added later still gets every framing and field case, from an empty request.
    const entry = bases[method.name] ?? { base: {} };
    return (Array.isArray(entry) ? entry : [entry]).map((e) => ({ method, ...e }));
  });
}

/** Topics of the fixture; `hostile.sinkless` has no subscription, `hostile.idle` never gets messages. */
const TOPICS = [
  "hostile.topic",
  "hostile.quiet",
  "hostile.idle",
  "hostile.dlq",
  "hostile.glob",
  "hostile.lease",
  "hostile.roundtrip",
  "hostile.victim",
  "hostile.sinkless",
];

/** Creates the fixture through the API, including two dead letters on `hostile-dlq`. */
export async function createHostileFixture(clients: HeraldTestClients): Promise<HostileFixture> {
  const { admin, publisher, subscriber, deadLetters } = clients;
  await admin.createPublisher({ code: "hostile-pub", name: "Hostile publisher" });
  await admin.createPublisher({ code: "hostile-pub-2", name: "Second publisher" });
  await admin.createPublisher({ code: "hostile-victim-pub", name: "Victim" });
  for (const code of TOPICS) await admin.createTopic({ code, name: code });
  const s1 = await admin.createSubscriber({
    clientId: 1n,
    name: "hostile-subscriber",
    webhookUrl: "https://hooks.example.com/in",
  });
  const s2 = await admin.createSubscriber({ clientId: 2n, name: "hostile-subscriber-2" });
  const S = s1.subscriber?.id ?? 0n;
  const S2 = s2.subscriber?.id ?? 0n;
  const sub = (name: string, topic: string, extra: Record<string, unknown> = {}) =>
    admin.createSubscription({ name, subscriberId: S, topic, ...extra });
  await sub("hostile-sink", "hostile.topic");
  await sub("hostile-quiet", "hostile.quiet", { ackDeadlineSeconds: 600 });
  await sub("hostile-idle", "hostile.idle");
  await sub("hostile-victim", "hostile.idle");
  await sub("hostile-push", "hostile.idle", { deliveryType: DeliveryType.PUSH });
  await admin.createSnapshot({ name: "hostile-snap", subscription: "hostile-idle" });
  await admin.createSubscription({
    name: "hostile-dlq",
    subscriberId: S2,
    topic: "hostile.dlq",
    maxDeliveryAttempts: 1,
    minBackoff: { seconds: 0n },
    maxBackoff: { seconds: 0n },
  });
  await publisher.publish({
    publisher: "hostile-pub",
    topic: "hostile.topic",
    messages: ["a", "b", "c"].map((x) => ({
      data: new TextEncoder().encode(x),
      identifier: `user-${x}`,
    })),
  });
  await publisher.publish({
    publisher: "hostile-pub",
    topic: "hostile.dlq",
    messages: [{ data: new Uint8Array([1]) }, { data: new Uint8Array([2]) }],
  });
  const pulled = await subscriber.pull({ subscription: "hostile-dlq", maxMessages: 10 });
  await subscriber.modifyAckDeadline({
    subscription: "hostile-dlq",
    ackIds: pulled.receivedMessages.map((m) => m.ackId),
    ackDeadlineSeconds: 0,
  });
  const dead = await deadLetters.listDeadLetters({ filter: { subscription: "hostile-dlq" } });
  if (dead.deadLetters.length !== 2)
    throw new Error(`fixture: expected 2 dead letters, got ${dead.deadLetters.length}`);
  return { subscriberId: S, subscriberId2: S2, deadLetterIds: dead.deadLetters.map((d) => d.id) };
}
