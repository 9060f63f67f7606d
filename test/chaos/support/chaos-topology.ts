/**
 * The publisher, topic, subscriber and subscriptions of one scenario, created through the admin
 * API, and small shared helpers (health polling, durations, the scenario database).
 */
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { DeliveryType } from "../../../gen/herald/v1/resources_pb.js";
import { type TestDatabaseTarget, testDatabaseTargets } from "../../support/test-databases.js";
import type { ChaosNode } from "./chaos-cluster.js";

export interface SubscriptionSpec {
  name: string;
  type: "pull" | "push";
  ackDeadlineSeconds?: number;
  maxDeliveryAttempts?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  enableOrdering?: boolean;
}

/** The MySQL target (TEST_MYSQL_URL); undefined when unset (the suite then skips, or fails under CI). */
export const chaosDatabaseTarget: TestDatabaseTarget | undefined = testDatabaseTargets().find(
  (t) => t.kind === "mysql",
);

export const duration = (ms: number) => ({
  seconds: BigInt(Math.floor(ms / 1000)),
  nanos: (ms % 1000) * 1_000_000,
});

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates publisher `pub-<tag>`, topic `chaos.<tag>`, one subscriber (with `webhookUrl` for PUSH
 * subscriptions) and `specs`, through `node`.
 */
export async function createTopology(
  node: ChaosNode,
  tag: string,
  specs: readonly SubscriptionSpec[],
  webhookUrl = "",
): Promise<{ publisher: string; topic: string }> {
  const publisher = `pub-${tag}`;
  const topic = `chaos.${tag}`;
  const { admin } = node.clients;
  await admin.createPublisher({ code: publisher, name: publisher });
  await admin.createTopic({ code: topic, name: topic });
  const { subscriber } = await admin.createSubscriber({ clientId: 1n, name: tag, webhookUrl });
  for (const spec of specs) {
    await admin.createSubscription({
      name: spec.name,
      subscriberId: subscriber?.id ?? 0n,
      topic,
      deliveryType: spec.type === "push" ? DeliveryType.PUSH : DeliveryType.PULL,
      ackDeadlineSeconds: spec.ackDeadlineSeconds ?? 10,
      maxDeliveryAttempts: spec.maxDeliveryAttempts ?? 20,
      minBackoff: duration(spec.minBackoffMs ?? 100),
      maxBackoff: duration(spec.maxBackoffMs ?? 1_000),
      enableOrdering: spec.enableOrdering ?? false,
    });
  }
  return { publisher, topic };
}

/** The overall health of `node` ("" service), or "down" when the call fails. */
export async function healthOf(node: ChaosNode): Promise<"SERVING" | "NOT_SERVING" | "down" | string> {
  try {
    const { status } = await node.clients.health.check({ service: "" }, { timeoutMs: 3_000 });
    return ServingStatus[status] ?? String(status);
  } catch {
    return "down";
  }
}
