/**
 * What a `herald serve` process prints while its MariaDB connection is cut (TCP proxy) and many
 * calls fail: every line is one JSON object (no plain-text knex/tarn lines, no stack traces), and
 * the number of lines during the outage stays small whatever the call volume — one line when the
 * database goes down, one when it is back, and rate-limited summaries of the failing calls
 * (counted in metrics instead). MySQL only: SQLite has no network to lose.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { text } from "../support/fixtures.js";
import { createHeraldClients, type HeraldTestClients } from "../support/herald-clients.js";
import { type HeraldProcess, killHeraldProcesses, startHeraldProcess } from "../support/herald-process.js";
import { readStream } from "../support/stream-reader.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";

const mysqlTarget = testDatabaseTargets().find((t) => t.kind === "mysql");

/** Most lines the server may print from the cut until it serves again (the fault audit saw thousands). */
const MAX_OUTAGE_LINES = 20;

describe.skipIf(mysqlTarget === undefined)("server output during a database outage (TCP proxy)", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let proc: HeraldProcess;
  let clients: HeraldTestClients;
  const publisher = "logs-pub";
  const topic = "logs.topic";
  const subscription = "logs-sub";

  beforeAll(async () => {
    db = await (mysqlTarget as NonNullable<typeof mysqlTarget>).create();
    const real = new URL(db.url);
    proxy = await startTcpProxy({
      upstreamHost: real.hostname,
      upstreamPort: real.port === "" ? 3306 : Number(real.port),
    });
    const proxied = new URL(db.url);
    proxied.hostname = "127.0.0.1";
    proxied.port = String(proxy.port);
    proc = await startHeraldProcess({
      DATABASE_URL: proxied.toString(),
      HERALD_ADDR: "127.0.0.1:0",
      HERALD_SWEEP_INTERVAL_MS: "200",
      HERALD_POLL_MAX_MS: "50",
      HERALD_LOG_LEVEL: "info",
    });
    clients = createHeraldClients(proc.url);
    await clients.admin.createPublisher({ code: publisher, name: publisher });
    await clients.admin.createTopic({ code: topic, name: topic });
    const { subscriber } = await clients.admin.createSubscriber({ clientId: 1n, name: "logs" });
    await clients.admin.createSubscription({
      name: subscription,
      subscriberId: subscriber?.id ?? 0n,
      topic,
      deliveryType: DeliveryType.PULL,
      ackDeadlineSeconds: 60,
    });
  }, 60_000);

  afterAll(async () => {
    await killHeraldProcesses();
    await proxy?.close();
    await db?.drop();
  });

  async function health(): Promise<ServingStatus | undefined> {
    try {
      return (await clients.health.check({ service: "" }, { timeoutMs: 5_000 })).status;
    } catch {
      return undefined;
    }
  }

  async function waitForHealth(status: ServingStatus, timeoutMs: number): Promise<void> {
    const started = Date.now();
    while ((await health()) !== status) {
      if (Date.now() - started > timeoutMs) throw new Error(`health never became ${ServingStatus[status]}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it("prints only JSON lines, and fewer than 20 of them, while hundreds of calls fail during an outage", async () => {
    const stream = readStream(
      (signal) => clients.subscriber.subscribe({ subscription, maxOutstandingMessages: 10 }, { signal }),
      () => undefined,
    );
    try {
      await clients.publisher.publish({ publisher, topic, messages: [{ data: text("before") }] });
      const before = proc.outputLines.length;
      proxy.cut("refuse");
      await waitForHealth(ServingStatus.NOT_SERVING, 10_000);
      // Hundreds of failing calls of several kinds, for several seconds.
      const codes = new Map<string, number>();
      const started = Date.now();
      while (Date.now() - started < 4_000) {
        const calls = Array.from({ length: 50 }, (_, i) =>
          (i % 2 === 0
            ? clients.publisher.publish({ publisher, topic, messages: [{ data: text(`during-${i}`) }] })
            : clients.admin.getTopic({ code: topic })
          ).then(
            () => "OK",
            (error: unknown) => Code[ConnectError.from(error).code] ?? "?",
          ),
        );
        for (const code of await Promise.all(calls)) codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      await proxy.restore();
      await waitForHealth(ServingStatus.SERVING, 15_000);
      await clients.publisher.publish({ publisher, topic, messages: [{ data: text("after") }] });
      const lines = proc.outputLines.slice(before);
      console.log(
        `calls during the outage: ${JSON.stringify(Object.fromEntries(codes))}; ${lines.length} lines printed:\n${lines.join("\n")}`,
      );
      expect(codes.get("Unavailable") ?? 0).toBeGreaterThan(100);
      expect(lines.filter((line) => !isJsonObject(line))).toEqual([]);
      expect(lines.filter((line) => line.includes("    at "))).toEqual([]);
      expect(lines.length).toBeLessThan(MAX_OUTAGE_LINES);
      const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(messages.filter((m) => m.startsWith("database unreachable"))).toHaveLength(1);
      expect(messages.filter((m) => m.startsWith("database reachable again"))).toHaveLength(1);
    } finally {
      await stream.stop();
    }
  }, 90_000);
});

function isJsonObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null;
  } catch {
    return false;
  }
}
