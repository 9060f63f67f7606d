import { Code } from "@connectrpc/connect";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { expectCode } from "../support/expect-error.js";
import { text } from "../support/fixtures.js";
import { eventually, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { type ReceivedPush, type SinkReply, startWebhookSink } from "../support/webhook-sink.js";

const PUSH_ENV = {
  HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
  HERALD_WEBHOOK_ALLOW_HTTP: "true",
  HERALD_PUSH_TIMEOUT_MS: "2000",
  HERALD_POLL_MIN_MS: "5",
  HERALD_POLL_MAX_MS: "50",
  HERALD_SWEEP_INTERVAL_MS: "100",
};

let counter = 0;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("webhook push on %s", (_k, target) => {
  let db: TestDatabase;
  let t: TestServer;
  const sinks: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    db = await target.create();
    t = await startTestServer(db, {}, { env: PUSH_ENV });
  });
  afterAll(async () => {
    await t?.stop();
    for (const sink of sinks) await sink.close();
    await db?.drop();
  });

  async function sink(reply?: (push: ReceivedPush, index: number) => SinkReply) {
    const s = await startWebhookSink(reply);
    sinks.push(s);
    return s;
  }

  /** A publisher, topic, subscriber with `url`, and `count` PUSH subscriptions (settings overridable). */
  async function pushSetup(url: string, settings: Record<string, unknown> = {}, count = 1) {
    counter += 1;
    const tag = `p${counter}`;
    await t.admin.createPublisher({ code: `pub-${tag}`, name: tag });
    await t.admin.createTopic({ code: `push.${tag}`, name: tag });
    const created = await t.admin.createSubscriber({ clientId: 9n, name: tag, webhookUrl: url });
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const name = `push-${tag}-${i}`;
      await t.admin.createSubscription({
        name,
        subscriberId: created.subscriber?.id ?? 0n,
        topic: `push.${tag}`,
        deliveryType: DeliveryType.PUSH,
        minBackoff: { seconds: 0n, nanos: 100_000_000 },
        maxBackoff: { seconds: 1n },
        ...settings,
      });
      names.push(name);
    }
    await t.server.refreshPushers();
    const publish = async (messages: { data?: Uint8Array; orderingKey?: string; identifier?: string }[]) =>
      (await t.publisher.publish({ publisher: `pub-${tag}`, topic: `push.${tag}`, messages })).messageIds;
    return {
      names,
      secret: created.signingSecret,
      subscriberId: created.subscriber?.id ?? 0n,
      publish,
      topic: `push.${tag}`,
    };
  }

  const deadLetters = async (name: string) => {
    const sub = await t.server.store.repos.subscriptions.findByName(name);
    return t.server.store.repos.deadLetters.listBySubscription(sub?.id ?? 0n);
  };

  it("retries 500, a timeout and 429 + Retry-After, then delivers on attempt 5 with a stable webhook-id", async () => {
    const plan: SinkReply[] = [
      { status: 500, body: "boom" },
      { status: 500 },
      { status: 200, delayMs: 2_500 }, // longer than the 2 s push timeout
      { status: 429, headers: { "retry-after": "1" } },
      { status: 204 },
    ];
    const s = await sink((_p, i) => plan[i] ?? { status: 204 });
    const setup = await pushSetup(s.url, { maxDeliveryAttempts: 10 });
    const [id] = await setup.publish([{ data: text("retry me") }]);
    await until(() => s.received.length >= 5, 20_000, "five attempts");
    const attempts = s.received.slice(0, 5);
    expect(attempts.map((p) => p.json.deliveryAttempt)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(attempts.map((p) => p.headers["webhook-id"])).size).toBe(1);
    const gaps = attempts.slice(1).map((p, i) => p.atMs - (attempts[i] as ReceivedPush).atMs);
    // Backoff never below min_backoff (100 ms); Retry-After: 1 is honoured (within max_backoff 1 s).
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(90);
    expect(gaps[3]).toBeGreaterThanOrEqual(950);
    const final = await eventually(
      () => t.server.store.repos.notificationLogs.listByMessage(BigInt(id as string)),
      (logs) => logs.length === 5,
      10_000,
      "five log rows",
    );
    expect(final.map((l) => [l.deliveryMethod, l.status, l.httpStatus])).toEqual([
      ["webhook", "failed", 500],
      ["webhook", "failed", 500],
      ["webhook", "failed", null],
      ["webhook", "failed", 429],
      ["webhook", "sent", 204],
    ]);
    expect(final[0]?.error).toBe("boom");
    expect(final[2]?.error).toMatch(/timed out/);
    expect(final.every((l) => l.durationMs !== null)).toBe(true);
  }, 30_000);

  it("dead-letters after exactly max_delivery_attempts against an always-failing endpoint", async () => {
    const s = await sink(() => ({ status: 503, body: "down for maintenance" }));
    const setup = await pushSetup(s.url, { maxDeliveryAttempts: 3 });
    const [id] = await setup.publish([{ data: text("doomed") }]);
    await until(() => s.received.length >= 3, 20_000, "three attempts");
    const dead = await eventually(
      () => deadLetters(setup.names[0] as string),
      (d) => d.length > 0,
      10_000,
      "a dead letter",
    );
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      messageId: BigInt(id as string),
      attemptCount: 3,
      failureReason: "MAX_ATTEMPTS",
      lastHttpStatus: 503,
      lastError: "down for maintenance",
      callbackUrl: s.url,
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(s.received).toHaveLength(3);
  }, 30_000);

  it("dead-letters on 410 Gone, pauses the subscription, and delivers the backlog after resume", async () => {
    let gone = true;
    const s = await sink(() => (gone ? { status: 410 } : { status: 204 }));
    const setup = await pushSetup(s.url);
    const name = setup.names[0] as string;
    await setup.publish([{ data: text("first") }]);
    await until(() => s.received.length === 1, 10_000, "the first push");
    const sub = await eventually(
      async () => (await t.admin.getSubscription({ name })).subscription,
      (x) => x?.pauseTime !== undefined,
      10_000,
      "the pause",
    );
    expect(sub?.pauseReason).toMatch(/410/);
    expect((await deadLetters(name)).map((d) => [d.failureReason, d.attemptCount, d.lastHttpStatus])).toEqual(
      [["GONE", 1, 410]],
    );
    await t.server.refreshPushers();
    await setup.publish([{ data: text("while paused") }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.received).toHaveLength(1);
    gone = false;
    const resumed = await t.admin.resumeSubscription({ name });
    expect(resumed.subscription?.pauseTime).toBeUndefined();
    await t.server.refreshPushers();
    await until(() => s.received.length === 2, 10_000, "the backlog after resume");
    expect(Buffer.from(s.received[1]?.json.message.data ?? "", "base64").toString()).toBe("while paused");
    await expectCode(t.admin.pauseSubscription({ name: "no-such" }), Code.NotFound);
  });

  it("keeps a fast endpoint fast while another endpoint takes 1 s per request", async () => {
    const slow = await sink(() => ({ status: 204, delayMs: 1_000 }));
    const fast = await sink();
    const slowSetup = await pushSetup(slow.url);
    const fastSetup = await pushSetup(fast.url);
    await slowSetup.publish(Array.from({ length: 100 }, (_, i) => ({ data: text(`s${i}`) })));
    await fastSetup.publish(Array.from({ length: 300 }, (_, i) => ({ data: text(`f${i}`) })));
    await until(() => fast.received.length >= 300, 20_000, "the fast endpoint's 300 pushes");
    expect(slow.received.length).toBeLessThan(60);
  }, 30_000);

  it("refuses blocked destinations without connecting, and lets the allowlisted loopback in", async () => {
    const s = await sink();
    const port = s.port;
    const blocked = [
      `http://10.0.0.1:${port}/x`,
      `http://169.254.169.254/latest/meta-data`,
      `http://100.64.0.1:${port}/x`,
      `http://224.0.0.1:${port}/x`,
      `http://[::ffff:127.0.0.2]:${port}/x`,
      `http://127.0.0.2:${port}/x`,
      `http://[::1]:${port}/x`,
      `http://0.0.0.0:${port}/x`,
    ];
    for (const url of blocked) {
      const setup = await pushSetup(url, { maxDeliveryAttempts: 1 });
      const [id] = await setup.publish([{ data: text("ssrf") }]);
      const logs = await eventually(
        () => t.server.store.repos.notificationLogs.listByMessage(BigInt(id as string)),
        (l) => l.length > 0,
        10_000,
        `the attempt to ${url}`,
      );
      expect(logs[0]?.status).toBe("failed");
      expect(logs[0]?.error, url).toMatch(/blocked/);
      expect(logs[0]?.httpStatus).toBeNull();
    }
    expect(s.received).toHaveLength(0);
    const allowed = await pushSetup(s.url);
    await allowed.publish([{ data: text("hello loopback") }]);
    await until(() => s.received.length === 1, 10_000, "the allowlisted push");
  }, 60_000);

  it("pushes ordered subscriptions one message per key, in order, under random failures", async () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const s = await sink(() => (random() < 0.3 ? { status: 500 } : { status: 204 }));
    const setup = await pushSetup(s.url, { enableOrdering: true, maxDeliveryAttempts: 100 });
    const keys = ["a", "b", "c", "d", "e"];
    const batch = Array.from({ length: 200 }, (_, i) => ({
      data: text(`${i}`),
      orderingKey: keys[i % 5] as string,
    }));
    const ids = await setup.publish(batch);
    const expected = new Map(keys.map((k) => [k, ids.filter((_, i) => i % 5 === keys.indexOf(k))]));
    await until(
      () => s.received.filter((p) => p.status === 204).length >= 200,
      60_000,
      "200 acknowledged pushes",
    );
    const accepted = new Map<string, string[]>(keys.map((k) => [k, []]));
    for (const push of s.received) {
      const key = push.json.message.orderingKey ?? "";
      const done = accepted.get(key) ?? [];
      // Each push of a key is the first message of that key not yet accepted.
      expect(push.json.message.messageId).toBe(expected.get(key)?.[done.length]);
      if (push.status === 204) done.push(push.json.message.messageId);
    }
    for (const key of keys) expect(accepted.get(key)).toEqual(expected.get(key));
  }, 90_000);

  it("signs with both secrets during a rotation's overlap", async () => {
    const s = await sink();
    const setup = await pushSetup(s.url);
    const rotated = await t.admin.rotateSubscriberSecret({
      id: setup.subscriberId,
      overlap: { seconds: 3600n },
    });
    expect(rotated.signingSecret).toMatch(/^whsec_/);
    expect(rotated.signingSecret).not.toBe(setup.secret);
    await new Promise((r) => setTimeout(r, 1_100)); // the pusher caches signing keys for 1 s
    await setup.publish([{ data: text("rotated") }]);
    await until(() => s.received.length === 1, 10_000, "the push");
    const push = s.received[0] as ReceivedPush;
    expect(String(push.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    new Webhook(rotated.signingSecret).verify(push.body, push.headers as Record<string, string>);
    new Webhook(setup.secret).verify(push.body, push.headers as Record<string, string>);
    await expectCode(t.admin.rotateSubscriberSecret({ id: 999_999n }), Code.NotFound);
  });

  it("refuses plain http endpoints when http is not enabled", async () => {
    const strict = await startTestServer(db, {}, { env: { HERALD_WEBHOOK_ALLOW_HTTP: "false" } });
    try {
      await expectCode(
        strict.admin.createSubscriber({
          clientId: 1n,
          name: "http",
          webhookUrl: "http://hooks.example.com/x",
        }),
        Code.InvalidArgument,
        "webhook_url",
      );
      const ok = await strict.admin.createSubscriber({
        clientId: 1n,
        name: "https",
        webhookUrl: "https://hooks.example.com/x",
      });
      expect(ok.signingSecret).toMatch(/^whsec_/);
    } finally {
      await strict.stop();
    }
  });
});
