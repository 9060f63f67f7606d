/** Webhook push at scale: 5,000 messages fanned out to 3 PUSH subscriptions (15,000 signed pushes). */
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { text } from "../support/fixtures.js";
import { eventually, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { startWebhookSink } from "../support/webhook-sink.js";

const PUSH_ENV = {
  HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
  HERALD_WEBHOOK_ALLOW_HTTP: "true",
  HERALD_PUSH_TIMEOUT_MS: "2000",
  HERALD_POLL_MIN_MS: "5",
  HERALD_POLL_MAX_MS: "50",
  HERALD_SWEEP_INTERVAL_MS: "100",
};

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "webhook push at scale on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let s: Awaited<ReturnType<typeof startWebhookSink>> | undefined;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { env: PUSH_ENV });
    });
    afterAll(async () => {
      await t?.stop();
      await s?.close();
      await db?.drop();
    });

    /** A publisher, topic, subscriber with `url`, and three PUSH subscriptions. */
    async function pushSetup(url: string) {
      await t.admin.createPublisher({ code: "pub-scale", name: "scale" });
      await t.admin.createTopic({ code: "push.scale", name: "scale" });
      const created = await t.admin.createSubscriber({ clientId: 9n, name: "scale", webhookUrl: url });
      const names = ["push-scale-0", "push-scale-1", "push-scale-2"];
      for (const name of names) {
        await t.admin.createSubscription({
          name,
          subscriberId: created.subscriber?.id ?? 0n,
          topic: "push.scale",
          deliveryType: DeliveryType.PUSH,
          minBackoff: { seconds: 0n, nanos: 100_000_000 },
          maxBackoff: { seconds: 1n },
        });
      }
      await t.server.refreshPushers();
      const publish = async (messages: { data?: Uint8Array; identifier?: string }[]) =>
        (await t.publisher.publish({ publisher: "pub-scale", topic: "push.scale", messages })).messageIds;
      return { names, secret: created.signingSecret, publish, topic: "push.scale" };
    }

    it("delivers 5,000 messages to 3 subscriptions with valid Standard Webhooks signatures", async () => {
      s = await startWebhookSink();
      const sink = s;
      const setup = await pushSetup(sink.url);
      const ids: string[] = [];
      for (let b = 0; b < 50; b++) {
        ids.push(
          ...(await setup.publish(
            Array.from({ length: 100 }, (_, i) => ({ data: text(`${b}-${i}`), identifier: "u" })),
          )),
        );
      }
      // Counted incrementally: rebuilding a 15,000-entry Set on every 5 ms poll starved the
      // in-process server and sink of the event loop, and the test timed out on a busy machine.
      const pairs = new Set<string>();
      let counted = 0;
      const distinct = () => {
        for (; counted < sink.received.length; counted++) {
          const p = sink.received[counted];
          if (p) pairs.add(`${p.json.subscription}/${p.json.message.messageId}`);
        }
        return pairs.size;
      };
      // At-least-once: a redelivery is allowed, so wait for every (subscription, message) pair.
      await until(() => distinct() >= 15_000, 120_000, "15,000 distinct pushes");
      const verifier = new Webhook(setup.secret);
      const seen = new Map<string, Set<string>>(setup.names.map((n) => [n, new Set()]));
      for (const push of sink.received) {
        verifier.verify(push.body, push.headers as Record<string, string>);
        expect(push.headers["user-agent"]).toMatch(/^Herald\/\d+\.\d+\.\d+/);
        expect(push.json.message.messageId).toBe(push.json.message.message_id);
        seen.get(push.json.subscription)?.add(push.json.message.messageId);
      }
      for (const name of setup.names) expect(seen.get(name)?.size).toBe(5_000);
      const first = sink.received.find((p) => p.json.message.messageId === ids[0]);
      expect(Buffer.from(first?.json.message.data ?? "", "base64").toString()).toBe("0-0");
      expect(first?.json.message).toMatchObject({ identifier: "u", topic: setup.topic });
      expect(first?.json.deliveryAttempt).toBe(1);
      for (const name of setup.names) {
        await eventually(
          async () => (await t.admin.getSubscription({ name })).messageCount,
          (n) => n === 5_000n,
          20_000,
          "5,000 acked deliveries",
        );
      }
    }, 180_000);
  },
);
