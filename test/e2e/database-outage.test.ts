/**
 * A real `herald serve` process whose MariaDB connection runs through a TCP proxy the test cuts:
 * while the database is unreachable Publish answers UNAVAILABLE within a bounded time (never OK),
 * health reports NOT_SERVING and an open Subscribe stream stays open; once the proxy is restored
 * everything works again without a restart. A connection lost around the Publish commit, retried
 * with the same dedup_id, stores exactly one message. SIGTERM during an outage exits 0. MySQL only:
 * SQLite has no network to lose. A silent database (partition) is bounded too: every MySQL query
 * has a timeout (HERALD_DB_QUERY_TIMEOUT_MS), after which its connection is dropped.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import knexFactory, { type Knex } from "knex";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import type { ReceivedMessage } from "../../gen/herald/v1/subscriber_service_pb.js";
import { text, untext } from "../support/fixtures.js";
import { createHeraldClients, type HeraldTestClients } from "../support/herald-clients.js";
import { type HeraldProcess, killHeraldProcesses, startHeraldProcess } from "../support/herald-process.js";
import { readStream, until } from "../support/stream-reader.js";
import { type CutMode, startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";

const mysqlTarget = testDatabaseTargets().find((t) => t.kind === "mysql");

/** The assertion bound for "fails fast": generous, the point is "never hangs". */
const PUBLISH_BOUND_MS = 15_000;
/** How long recovery may take once the database is back. */
const RECOVERY_BOUND_MS = 15_000;
/** Client-side deadline so that a hanging server shows up as DEADLINE_EXCEEDED, not a stuck test. */
const CALL_TIMEOUT_MS = 40_000;

// The health part needs the database health monitor (added by another change); without it that
// assertion is skipped with this reason instead of failing the whole file.
const hasHealthMonitor = readFileSync(
  join(import.meta.dirname, "../../src/herald-server.ts"),
  "utf8",
).includes("DatabaseHealthMonitor");

interface PublishOutcome {
  code: Code | "OK";
  ms: number;
  messageIds: string[];
  message: string;
}

/** The MySQL protocol's COM_QUERY command byte, which precedes the SQL text of a query packet. */
const COM_QUERY = String.fromCharCode(0x03);

const codeName = (code: Code | "OK") => (code === "OK" ? "OK" : Code[code]);

describe.skipIf(mysqlTarget === undefined)("herald while MariaDB is unreachable (TCP proxy)", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let proc: HeraldProcess;
  let clients: HeraldTestClients;
  let direct: Knex;
  let subscription: string;
  const publisher = "outage-pub";
  const topic = "outage.topic";
  /** While set, the proxy's tap acts on the next Publish COMMIT (see the commit-uncertainty tests). */
  let onPublishCommit: ((connectionId: number, chunk: Buffer) => "drop" | undefined) | undefined;
  const insertedMessages = new Set<number>();

  beforeAll(async () => {
    db = await (mysqlTarget as NonNullable<typeof mysqlTarget>).create();
    const real = new URL(db.url);
    proxy = await startTcpProxy({
      upstreamHost: real.hostname,
      upstreamPort: real.port === "" ? 3306 : Number(real.port),
      // Finds the COMMIT of a Publish transaction: a COMMIT on a connection that inserted into `messages`.
      tap: (id, direction, chunk) => {
        if (direction !== "to-upstream") return undefined;
        const sql = chunk.toString("latin1");
        if (/insert into `?messages`? \(/i.test(sql)) insertedMessages.add(id);
        if (sql.includes(`${COM_QUERY}COMMIT`) && insertedMessages.delete(id))
          return onPublishCommit?.(id, chunk);
        if (sql.includes(`${COM_QUERY}ROLLBACK`)) insertedMessages.delete(id);
        return undefined;
      },
    });
    const proxied = new URL(db.url);
    proxied.hostname = "127.0.0.1";
    proxied.port = String(proxy.port);
    proc = await startHeraldProcess({
      DATABASE_URL: proxied.toString(),
      HERALD_ADDR: "127.0.0.1:0",
      HERALD_SWEEP_INTERVAL_MS: "200",
      HERALD_POLL_MAX_MS: "50",
      // "herald listening", which startHeraldProcess waits for, is an info line.
      HERALD_LOG_LEVEL: "info",
    });
    clients = createHeraldClients(proc.url);
    direct = knexFactory({ client: "mysql2", connection: db.url, pool: { min: 0, max: 2 } });

    await clients.admin.createPublisher({ code: publisher, name: publisher });
    await clients.admin.createTopic({ code: topic, name: topic });
    const { subscriber } = await clients.admin.createSubscriber({ clientId: 1n, name: "outage" });
    subscription = "outage-sub";
    await clients.admin.createSubscription({
      name: subscription,
      subscriberId: subscriber?.id ?? 0n,
      topic,
      deliveryType: DeliveryType.PULL,
      ackDeadlineSeconds: 60,
    });
  }, 60_000);

  afterEach(async () => {
    onPublishCommit = undefined;
    await proxy?.restore();
  });

  afterAll(async () => {
    await killHeraldProcesses();
    await proxy?.close();
    await direct?.destroy();
    await db?.drop();
  });

  /** One Publish of `data` (with `dedupId`), timed; never throws. */
  async function publish(data: string, dedupId = "", timeoutMs = CALL_TIMEOUT_MS): Promise<PublishOutcome> {
    const started = Date.now();
    try {
      const { messageIds } = await clients.publisher.publish(
        { publisher, topic, messages: [{ data: text(data), dedupId }] },
        { timeoutMs },
      );
      return { code: "OK", ms: Date.now() - started, messageIds: messageIds.map(String), message: "" };
    } catch (error) {
      const e = ConnectError.from(error);
      return { code: e.code, ms: Date.now() - started, messageIds: [], message: e.rawMessage };
    }
  }

  /** Publishes until one succeeds (the database is back); resolves with it and how long that took. */
  async function publishUntilOk(data: string, dedupId: string, boundMs = RECOVERY_BOUND_MS) {
    const started = Date.now();
    const failures: string[] = [];
    for (;;) {
      const outcome = await publish(data, dedupId);
      if (outcome.code === "OK") return { outcome, recoveryMs: Date.now() - started, failures };
      failures.push(`${codeName(outcome.code)} after ${outcome.ms} ms: ${outcome.message}`);
      if (Date.now() - started > boundMs) {
        throw new Error(`Publish still failing ${boundMs} ms after the restore:\n${failures.join("\n")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function healthOf(service: string): Promise<ServingStatus | string> {
    try {
      return (await clients.health.check({ service }, { timeoutMs: 10_000 })).status;
    } catch (error) {
      return `health check failed: ${ConnectError.from(error).message}`;
    }
  }

  /** Polls health until `service` reports `status`; resolves with the time it took. */
  async function waitForHealth(service: string, status: ServingStatus, timeoutMs: number): Promise<number> {
    const started = Date.now();
    let last: ServingStatus | string = "never checked";
    while (Date.now() - started < timeoutMs) {
      last = await healthOf(service);
      if (last === status) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `health of "${service}" was not ${ServingStatus[status]} within ${timeoutMs} ms (last: ${typeof last === "string" ? last : ServingStatus[last]})`,
    );
  }

  const countStored = async (data: string) => {
    const [rows] = (await direct.raw("SELECT id FROM messages WHERE data = ?", [Buffer.from(data)])) as [
      { id: string }[],
    ];
    return rows.map((r) => String(r.id));
  };
  const countQueued = async (messageId: string) => {
    const [rows] = (await direct.raw("SELECT COUNT(*) AS n FROM queue_items WHERE message_id = ?", [
      messageId,
    ])) as [{ n: number }[]];
    return Number(rows[0]?.n);
  };

  it.each<[string, CutMode]>([
    ["refused", "refuse"],
    ["reset", "reset"],
  ])(
    "answers every Publish with UNAVAILABLE within 15 s, never OK, while connections are %s",
    async (_how, mode) => {
      expect((await publish("before the outage")).code).toBe("OK");
      proxy.cut(mode);
      const outcomes: PublishOutcome[] = [];
      const started = Date.now();
      while (Date.now() - started < 5_000 || outcomes.length < 3)
        outcomes.push(await publish(`during-${mode}`));
      const summary = outcomes.map(
        (o) => `${codeName(o.code)} in ${o.ms} ms${o.message ? `: ${o.message}` : ""}`,
      );
      console.log(`Publish during a "${mode}" outage:\n  ${summary.join("\n  ")}`);
      expect(
        outcomes.filter((o) => o.code !== Code.Unavailable).map((o) => summary[outcomes.indexOf(o)]),
      ).toEqual([]);
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(PUBLISH_BOUND_MS);

      await proxy.restore();
      const { recoveryMs } = await publishUntilOk(`after-${mode}`, "");
      console.log(`Publish OK again ${recoveryMs} ms after the "${mode}" outage ended`);
      // Nothing published during the outage was stored.
      expect(await countStored(`during-${mode}`)).toEqual([]);
    },
    60_000,
  );

  it.skipIf(!hasHealthMonitor)(
    "reports NOT_SERVING while the database is unreachable and SERVING again after it returns",
    async () => {
      const services = ["", "herald.v1.PublisherService", "herald.v1.SubscriberService"];
      // The previous test's outage may still be reported for up to a ping interval.
      await waitForHealth("", ServingStatus.SERVING, RECOVERY_BOUND_MS);
      for (const service of services) expect(await healthOf(service)).toBe(ServingStatus.SERVING);
      proxy.cut("refuse");
      const downMs = await waitForHealth("", ServingStatus.NOT_SERVING, 10_000);
      for (const service of services) expect(await healthOf(service)).toBe(ServingStatus.NOT_SERVING);
      await proxy.restore();
      const upMs = await waitForHealth("", ServingStatus.SERVING, RECOVERY_BOUND_MS);
      for (const service of services) expect(await healthOf(service)).toBe(ServingStatus.SERVING);
      console.log(`health: NOT_SERVING ${downMs} ms after the cut, SERVING ${upMs} ms after the restore`);
    },
    60_000,
  );

  it("keeps an open Subscribe stream open through the outage and delivers what is published after recovery", async () => {
    const received: ReceivedMessage[] = [];
    const acked: ReceivedMessage[] = [];
    const stream = readStream(
      (signal) => clients.subscriber.subscribe({ subscription, maxOutstandingMessages: 100 }, { signal }),
      async (batch) => {
        received.push(...batch);
        // An ack that fails (the outage began) must not end the reading; the message comes back.
        await clients.subscriber
          .acknowledge({ subscription, ackIds: batch.map((m) => m.ackId) })
          .catch(() => undefined);
        acked.push(...batch);
      },
    );
    let streamEnded: unknown = "still open";
    void stream.done.then((error) => {
      streamEnded = error ?? "ended without an error";
    });
    try {
      // Drain what earlier tests left, then prove the stream delivers.
      const first = await publishUntilOk("stream-before", "stream-before");
      await until(
        () => acked.some((m) => untext(m.message?.data) === "stream-before"),
        15_000,
        "the message published before the outage to be received and acked",
      );
      expect(first.outcome.code).toBe("OK");

      proxy.cut("refuse");
      if (hasHealthMonitor) await waitForHealth("", ServingStatus.NOT_SERVING, 10_000);
      else await new Promise((resolve) => setTimeout(resolve, 3_000));
      // Well into the outage: streams keep retrying their claims with backoff and stay open.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(streamEnded).toBe("still open");

      await proxy.restore();
      const restoredAt = Date.now();
      const after = await publishUntilOk("stream-after", "stream-after");
      await until(
        () => received.some((m) => untext(m.message?.data) === "stream-after"),
        RECOVERY_BOUND_MS,
        "the stream to deliver the message published after recovery",
      );
      const deliveredMs = Date.now() - restoredAt;
      console.log(
        `after the restore: Publish OK in ${after.recoveryMs} ms, the open stream delivered it ${deliveredMs} ms after the restore`,
      );
      expect(streamEnded).toBe("still open");
      expect(received.find((m) => untext(m.message?.data) === "stream-after")?.message?.messageId).toBe(
        after.outcome.messageIds[0],
      );
    } finally {
      await stream.stop();
    }
  }, 90_000);

  it("recovers every service without a restart: admin, publish, pull and ack work again within seconds", async () => {
    const pidBefore = proc.child.pid;
    proxy.cut("reset");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await proxy.restore();
    const restoredAt = Date.now();
    const { outcome } = await publishUntilOk("recovered", "recovered");
    const topicAfter = await clients.admin.getTopic({ code: topic });
    const pulled: ReceivedMessage[] = [];
    while (!pulled.some((m) => untext(m.message?.data) === "recovered")) {
      const { receivedMessages } = await clients.subscriber.pull({
        subscription,
        maxMessages: 100,
        maxWait: { seconds: 2n },
      });
      pulled.push(...receivedMessages);
      await clients.subscriber.acknowledge({ subscription, ackIds: receivedMessages.map((m) => m.ackId) });
      if (Date.now() - restoredAt > RECOVERY_BOUND_MS) throw new Error("Pull did not return the new message");
    }
    const recoveredMs = Date.now() - restoredAt;
    console.log(`every service answered again ${recoveredMs} ms after the restore (same process)`);
    expect(outcome.code).toBe("OK");
    expect(topicAfter.topic?.code).toBe(topic);
    expect(proc.child.pid).toBe(pidBefore);
    expect(proc.child.exitCode).toBeNull();
    expect(recoveredMs).toBeLessThan(RECOVERY_BOUND_MS);
  }, 60_000);

  describe("commit uncertainty", () => {
    it.each([
      ["before the COMMIT reaches the server", false],
      ["after the COMMIT reached the server (its reply is lost)", true],
    ] as const)(
      "stores exactly one message when the connection drops %s and the client retries with the same dedup_id",
      async (_when, commitArrives) => {
        const data = `uncertain-${commitArrives ? "after" : "before"}`;
        const dedupId = `dedup-${data}`;
        let triggered = false;
        onPublishCommit = (connectionId, chunk) => {
          if (triggered) return undefined;
          triggered = true;
          if (commitArrives) proxy.deliverThenSever(connectionId, chunk);
          proxy.cut("refuse");
          return "drop";
        };
        const first = await publish(data, dedupId);
        expect(triggered).toBe(true);
        // Whatever happened to the commit, the caller cannot have been told OK.
        expect(codeName(first.code)).toBe("Unavailable");
        expect(first.ms).toBeLessThan(PUBLISH_BOUND_MS);
        // Give the server a moment to finish the commit it received (or roll back the one it did not).
        await new Promise((resolve) => setTimeout(resolve, 500));
        const storedBeforeRetry = await countStored(data);
        expect(storedBeforeRetry).toHaveLength(commitArrives ? 1 : 0);

        await proxy.restore();
        const retry = await publishUntilOk(data, dedupId);
        const stored = await countStored(data);
        expect(stored).toHaveLength(1);
        expect(retry.outcome.messageIds).toEqual(stored);
        if (commitArrives) expect(stored).toEqual(storedBeforeRetry);
        expect(await countQueued(stored[0] as string)).toBe(1);
        // A further retry still finds the same message.
        expect((await publish(data, dedupId)).messageIds).toEqual(stored);
      },
      60_000,
    );
  });

  /**
   * Starts a second herald process on the proxy with a Subscribe stream holding one message, cuts
   * the database the way `mode` says, sends SIGTERM and expects exit 0 within a bounded time.
   */
  async function expectCleanStopDuringOutage(how: string, mode: CutMode): Promise<void> {
    const proxied = new URL(db.url);
    proxied.hostname = "127.0.0.1";
    proxied.port = String(proxy.port);
    const own = await startHeraldProcess({
      DATABASE_URL: proxied.toString(),
      HERALD_ADDR: "127.0.0.1:0",
      HERALD_LOG_LEVEL: "info",
      HERALD_SHUTDOWN_GRACE_SECONDS: "3",
    });
    const ownClients = createHeraldClients(own.url);
    const held: ReceivedMessage[] = [];
    const stream = readStream(
      (signal) => ownClients.subscriber.subscribe({ subscription, maxOutstandingMessages: 1000 }, { signal }),
      (batch) => {
        held.push(...batch);
      },
    );
    try {
      await publishUntilOk(`held-${mode}`, `held-${mode}`);
      await until(
        () => held.some((m) => untext(m.message?.data) === `held-${mode}`),
        15_000,
        "the held message",
      );
      proxy.cut(mode);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const started = Date.now();
      let exit: unknown;
      try {
        exit = await own.stop("SIGTERM", 20_000);
      } catch (error) {
        exit = `no exit within 20 s of SIGTERM (then SIGKILLed): ${String(error).split("\n")[0]}`;
      }
      const stopMs = Date.now() - started;
      console.log(`SIGTERM with the database ${how}: ${JSON.stringify(exit)} after ${stopMs} ms`);
      expect(exit).toEqual({ code: 0, signal: null });
      // The grace period (3 s) plus the pusher's drain and a margin.
      expect(stopMs).toBeLessThan(15_000);
    } finally {
      await stream.stop();
    }
  }

  it("exits 0 on SIGTERM within the grace period while database connections are refused, with a stream holding messages", async () => {
    await expectCleanStopDuringOutage("refused", "refuse");
  }, 90_000);

  // With the database silent, the graceful stop's database calls end at the query timeout.
  it("exits 0 on SIGTERM within the grace period while database connections are silent (partition)", async () => {
    await expectCleanStopDuringOutage("silent (partition)", "blackhole");
  }, 90_000);

  // A Publish on a pooled connection whose server stops answering (partition, frozen server) ends at
  // the query timeout (10 s) instead of hanging until the client gives up.
  it("answers Publish within 15 s when the database stops answering without closing connections (partition)", async () => {
    expect((await publish("before the partition")).code).toBe("OK");
    proxy.cut("blackhole");
    const outcomes: PublishOutcome[] = [];
    const started = Date.now();
    while (Date.now() - started < 5_000 || outcomes.length < 2) {
      outcomes.push(await publish("during-partition", "", PUBLISH_BOUND_MS + 1_000));
    }
    const summary = outcomes.map(
      (o) => `${codeName(o.code)} in ${o.ms} ms${o.message ? `: ${o.message}` : ""}`,
    );
    console.log(`Publish during a partition (blackhole):\n  ${summary.join("\n  ")}`);
    await proxy.restore();
    await publishUntilOk("after-partition", "after-partition", 30_000);
    expect(outcomes.filter((o) => o.code === "OK")).toEqual([]);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(PUBLISH_BOUND_MS);
    expect(outcomes.map((o) => codeName(o.code))).toEqual(outcomes.map(() => "Unavailable"));
  }, 120_000);
});
