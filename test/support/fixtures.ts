import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateSubscriptionRequestSchema } from "../../gen/herald/v1/admin_service_pb.js";
import type { PublishMessageSchema } from "../../gen/herald/v1/publisher_service_pb.js";
import type { TestServer } from "./test-server.js";

let counter = 0;

export interface Fixture {
  topic: string;
  publisher: string;
  subscriberId: bigint;
  subscription: string;
  publish(messages: MessageInitShape<typeof PublishMessageSchema>[]): Promise<string[]>;
}

/** A fresh publisher, topic, subscriber and one subscription (settings overridable), unique per call. */
export async function createFixture(
  t: TestServer,
  settings: Omit<
    MessageInitShape<typeof CreateSubscriptionRequestSchema>,
    "$typeName" | "$unknown" | "name" | "subscriberId" | "topic"
  > = {},
): Promise<Fixture> {
  counter += 1;
  const tag = `f${counter}-${Math.random().toString(36).slice(2, 8)}`;
  const topic = `fixture.${tag}`;
  const publisher = `pub-${tag}`;
  await t.admin.createPublisher({ code: publisher, name: publisher });
  await t.admin.createTopic({ code: topic, name: topic });
  const { subscriber } = await t.admin.createSubscriber({
    clientId: 1n,
    name: tag,
    webhookUrl: "https://hooks.example.com/in",
  });
  const subscriberId = subscriber?.id ?? 0n;
  const subscription = `sub-${tag}`;
  await t.admin.createSubscription({ name: subscription, subscriberId, topic, ...settings });
  return {
    topic,
    publisher,
    subscriberId,
    subscription,
    publish: async (messages) => (await t.publisher.publish({ publisher, topic, messages })).messageIds,
  };
}

export const text = (s: string) => new TextEncoder().encode(s);
export const untext = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
