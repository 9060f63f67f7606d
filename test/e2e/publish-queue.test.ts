/**
 * The publish group-commit queue through the real server while its MariaDB connection is silent (a
 * TCP proxy holds every packet, as a frozen database): Publish calls beyond
 * HERALD_PUBLISH_QUEUE_MAX_MESSAGES answer RESOURCE_EXHAUSTED at once instead of piling up, and a
 * call whose deadline passed while it waited is never stored. MySQL only: SQLite has no network to
 * stall (and a locked SQLite file blocks the whole event loop instead).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import knexFactory, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../src/domain/clock.js";
import { text } from "../support/fixtures.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const mysqlTarget = testDatabaseTargets().find((t) => t.kind === "mysql");

describe.skipIf(mysqlTarget === undefined)(
  "Publish while the database stalls (MySQL through a TCP proxy)",
  () => {
    let db: TestDatabase;
    let proxy: TcpProxy;
    let t: TestServer;
    let direct: Knex;
    const publisher = "stall-pub";
    const topic = "stall.topic";

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
      // A clock that stands still keeps the publisher and topic lookups cached through the stall.
      t = await startTestServer(
        { ...db, url: proxied.toString() },
        {},
        {
          clock: new FakeClock(Date.now()),
          env: { HERALD_PUBLISH_QUEUE_MAX_MESSAGES: "5", HERALD_DB_QUERY_TIMEOUT_MS: "20000" },
        },
      );
      direct = knexFactory({ client: "mysql2", connection: db.url, pool: { min: 0, max: 1 } });
      await t.admin.createPublisher({ code: publisher, name: publisher });
      await t.admin.createTopic({ code: topic, name: topic });
    }, 60_000);

    afterAll(async () => {
      await proxy?.restore();
      await t?.stop();
      await proxy?.close();
      await direct?.destroy();
      await db?.drop();
    });

    /** Starts a Publish of `count` messages labelled `label`; resolves with its code, never rejects. */
    function publish(label: string, count: number, timeoutMs = 30_000): Promise<string> {
      const messages = Array.from({ length: count }, (_, i) => ({ data: text(`${label}-${i}`) }));
      return t.publisher.publish({ publisher, topic, messages }, { timeoutMs }).then(
        () => "OK",
        (error: unknown) => Code[ConnectError.from(error).code] ?? "?",
      );
    }

    const stored = async (label: string) => {
      const [rows] = (await direct.raw("SELECT COUNT(*) AS n FROM messages WHERE data LIKE ?", [
        Buffer.from(`${label}-%`),
      ])) as [{ n: number }[]];
      return Number(rows[0]?.n);
    };

    /** The server's herald_publish_queue_messages gauge (read without the database). */
    async function queuedMessages(): Promise<number | undefined> {
      const gauge = t.server.metrics.registry.getSingleMetric("herald_publish_queue_messages");
      return (await gauge?.get())?.values[0]?.value;
    }

    async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
      const started = Date.now();
      while (!(await condition())) {
        if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }

    /**
     * A round trip on the same connection that needs no database (an empty Publish is refused by
     * validation): every request sent before it has reached its handler.
     */
    const roundTrip = () => publish("invalid", 0);

    it("refuses publishes past the queue bound with RESOURCE_EXHAUSTED and never stores one whose deadline passed while queued", async () => {
      expect(await publish("warm-up", 1)).toBe("OK");
      proxy.cut("blackhole");
      // 1 + 2 + 2 messages fill the bound of 5: the first waits on the silent connection, the others queue.
      const first = publish("first", 1);
      // The group commit takes the calls that arrived within one event-loop turn together: let the
      // first one start its transaction alone before the others arrive.
      expect(await roundTrip()).toBe("InvalidArgument");
      const expiring = publish("expiring", 2, 300);
      const queued = publish("queued", 2);
      expect(await roundTrip()).toBe("InvalidArgument");
      const refusedAt = Date.now();
      expect(await publish("refused", 1)).toBe("ResourceExhausted");
      expect(Date.now() - refusedAt).toBeLessThan(2_000);
      expect(await expiring).toBe("DeadlineExceeded");
      // The server's deadline fires a moment after the client's: wait for it to drop the call.
      await until(async () => (await queuedMessages()) === 3, "the expired call to leave the queue");

      await proxy.restore();
      // The call on the silent connection fails (its connection is gone); the queued one commits.
      expect(await first).not.toBe("OK");
      expect(await queued).toBe("OK");
      expect(await publish("after", 1)).toBe("OK");
      expect({
        expiring: await stored("expiring"),
        refused: await stored("refused"),
        queued: await stored("queued"),
        after: await stored("after"),
      }).toEqual({ expiring: 0, refused: 0, queued: 2, after: 1 });
    }, 60_000);
  },
);
