/** Killing the server in the middle of a push loses nothing: the unfinished push is retried after restart. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { text } from "../support/fixtures.js";
import { heraldClients, killHeraldProcesses, startHeraldProcess } from "../support/herald-process.js";
import { eventually, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startWebhookSink } from "../support/webhook-sink.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "push across a crash on %s",
  (_k, target) => {
    let db: TestDatabase;
    let sink: Awaited<ReturnType<typeof startWebhookSink>>;
    let answering = false;

    beforeAll(async () => {
      db = await target.create();
      // Until `answering`, the receiver holds every request open: the push is in flight when the server dies.
      sink = await startWebhookSink(() => (answering ? { status: 204 } : { status: 204, delayMs: 60_000 }));
    });
    afterEach(async () => {
      await killHeraldProcesses();
    });
    afterAll(async () => {
      await sink?.close();
      await db?.drop();
    });

    it("redelivers a push that was in flight when the server was SIGKILLed", async () => {
      const env = {
        DATABASE_URL: db.url,
        HERALD_ADDR: "127.0.0.1:0",
        HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
        HERALD_WEBHOOK_ALLOW_HTTP: "true",
        HERALD_PUSH_TIMEOUT_MS: "1000",
        HERALD_SWEEP_INTERVAL_MS: "200",
        HERALD_POLL_MAX_MS: "50",
      };
      const first = await startHeraldProcess(env);
      const c = heraldClients(first.url);
      await c.admin.createPublisher({ code: "crash-pub", name: "p" });
      await c.admin.createTopic({ code: "crash.push", name: "t" });
      const { subscriber } = await c.admin.createSubscriber({
        clientId: 1n,
        name: "s",
        webhookUrl: sink.url,
      });
      await c.admin.createSubscription({
        name: "crash-push",
        subscriberId: subscriber?.id ?? 0n,
        topic: "crash.push",
        deliveryType: DeliveryType.PUSH,
        minBackoff: { seconds: 0n },
        maxBackoff: { seconds: 1n },
      });
      const [id] = (
        await c.publisher.publish({
          publisher: "crash-pub",
          topic: "crash.push",
          messages: [{ data: text("x") }],
        })
      ).messageIds;
      await until(() => sink.received.length === 1, 15_000, "the first push to arrive");
      expect((await first.stop("SIGKILL")).signal).toBe("SIGKILL");

      answering = true;
      const second = await startHeraldProcess(env);
      // The lease (push timeout + margin) runs out, the sweeper turns it into a retry, the push succeeds.
      await until(
        () => sink.received.some((p) => p.status === 204 && p.json.deliveryAttempt === 2),
        40_000,
        "the retry",
      );
      const retry = sink.received.find((p) => p.json.deliveryAttempt === 2);
      expect(retry?.json.message.messageId).toBe(id);
      expect(retry?.headers["webhook-id"]).toBe(sink.received[0]?.headers["webhook-id"]);
      const admin = heraldClients(second.url).admin;
      await eventually(
        async () => (await admin.getSubscription({ name: "crash-push" })).messageCount,
        (n) => n === 1n,
        10_000,
        "the delivery to be recorded as sent",
      );
    }, 90_000);
  },
);
