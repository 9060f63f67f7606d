/**
 * Chaos 2: two `herald serve` instances on a MariaDB server that this test owns (its own data
 * directory and port), stopped in the middle of a load (SIGTERM, a clean shutdown), left down, and
 * started again. Publishes fail with UNAVAILABLE meanwhile and are retried with their dedup_ids;
 * open streams stay open; health goes NOT_SERVING and back; everything resumes without a restart.
 * Where no MariaDB binaries exist, the outage is a TCP proxy cut in front of TEST_MYSQL_URL instead.
 */
import { afterAll, describe, expect, it } from "vitest";
import { killHeraldProcesses } from "../support/herald-process.js";
import {
  createMariadbInstance,
  type MariadbInstance,
  mariadbUnavailableReason,
} from "../support/mariadb-instance.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import type { TestDatabase } from "../support/test-databases.js";
import { ChaosCluster, type ProcessSample } from "./support/chaos-cluster.js";
import { ChaosConsumer } from "./support/chaos-consumer.js";
import { ChaosPublisher } from "./support/chaos-publisher.js";
import { finishScenario, longestPublishOutageMs } from "./support/chaos-scenario.js";
import { CHAOS } from "./support/chaos-settings.js";
import { chaosDatabaseTarget, createTopology, healthOf, sleep } from "./support/chaos-topology.js";
import { type ChaosWebhook, startChaosWebhook } from "./support/chaos-webhook.js";
import { DeliveryLedger } from "./support/delivery-ledger.js";

const S = CHAOS.dbRestart;

interface DatabaseControl {
  mode: string;
  url: string;
  /** Makes the database unreachable; resolves with how long the stop took, ms. */
  stop(): Promise<number>;
  /** Makes it reachable again; resolves once it answers, with how long that took, ms. */
  start(): Promise<number>;
}

/** Samples every instance's health every 100 ms and remembers when each status was first seen after a mark. */
function watchHealth(cluster: ChaosCluster) {
  const seen: { atMs: number; slot: number; status: string }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await Promise.all(
        cluster
          .live()
          .map(async (node) =>
            seen.push({ atMs: Date.now(), slot: node.slot, status: await healthOf(node) }),
          ),
      );
      await sleep(100);
    }
  })();
  return {
    /** First time at or after `fromMs` by which every instance had reported `status`; undefined if not. */
    allReported(status: string, fromMs: number): number | undefined {
      let latest = 0;
      for (const node of cluster.live()) {
        const first = seen.find((s) => s.slot === node.slot && s.atMs >= fromMs && s.status === status);
        if (!first) return undefined;
        latest = Math.max(latest, first.atMs);
      }
      return latest;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

describe.skipIf(chaosDatabaseTarget === undefined)(
  "chaos 2: MariaDB restarted in the middle of a load",
  () => {
    let mariadb: MariadbInstance | undefined;
    let proxy: TcpProxy | undefined;
    let db: TestDatabase | undefined;
    let webhook: ChaosWebhook | undefined;
    afterAll(async () => {
      await killHeraldProcesses();
      await webhook?.close();
      await mariadb?.destroy();
      await proxy?.close();
      await db?.drop();
    });

    async function databaseControl(): Promise<DatabaseControl> {
      const reason = mariadbUnavailableReason();
      if (reason === undefined) {
        const instance = await createMariadbInstance();
        mariadb = instance;
        await instance.start();
        return {
          mode: `dedicated MariaDB on 127.0.0.1:${instance.port} (${instance.dataDir}), stopped with ${S.stopSignal}`,
          url: instance.url("herald_chaos"),
          stop: () => instance.stop(S.stopSignal),
          start: () => instance.start(),
        };
      }
      db = await (chaosDatabaseTarget as NonNullable<typeof chaosDatabaseTarget>).create();
      const real = new URL(db.url);
      const cut = await startTcpProxy({
        upstreamHost: real.hostname,
        upstreamPort: Number(real.port || 3306),
      });
      proxy = cut;
      const proxied = new URL(db.url);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(cut.port);
      return {
        mode: `TCP proxy cut in front of TEST_MYSQL_URL (no dedicated MariaDB possible: ${reason})`,
        url: proxied.toString(),
        stop: async () => {
          cut.cut("refuse");
          return 0;
        },
        start: async () => {
          await cut.restore();
          return 0;
        },
      };
    }

    it("loses nothing when the database stops mid-load and starts again, and recovers without a restart", async () => {
      const startedAtMs = Date.now();
      const database = await databaseControl();
      const cluster = await ChaosCluster.start(database.url, S.instances);
      const stream = new DeliveryLedger("db-stream");
      const pull = new DeliveryLedger("db-pull");
      const push = new DeliveryLedger("db-push");
      const ledgers = [stream, pull, push];
      webhook = await startChaosWebhook({
        ledgerFor: (name) => ledgers.find((l) => l.subscription === name),
      });
      const { publisher: publisherCode, topic } = await createTopology(
        await cluster.pick(),
        "db",
        [
          { name: "db-stream", type: "pull" },
          { name: "db-pull", type: "pull" },
          { name: "db-push", type: "push" },
        ],
        webhook.url,
      );
      const streams = Array.from({ length: 2 }, (_, i) =>
        new ChaosConsumer(cluster, stream, {
          name: `stream-${i}`,
          behaviour: "ack",
          maxMessages: 50,
          processingMs: 100,
        }).start("stream"),
      );
      const pulls = [
        new ChaosConsumer(cluster, pull, { name: "pull-0", behaviour: "ack", maxMessages: 50 }).start("pull"),
      ];
      const publisher = new ChaosPublisher(cluster, publisherCode, topic);
      let loading = true;
      const publishing = publisher.publishWhile("db", {
        ratePerSecond: S.ratePerSecond,
        batchSize: 10,
        concurrency: 3,
        isDone: () => !loading,
      });
      const health = watchHealth(cluster);
      const memory: ProcessSample[] = await cluster.sample();

      await sleep(S.loadBeforeMs);
      // Streams must ride the outage out: every stream open now is expected to be open after it.
      const streamEndingsBefore = streams.map((c) => [...c.endings.values()].reduce((a, b) => a + b, 0));
      const stopAt = Date.now();
      const stopMs = await database.stop();
      const downAt = Date.now();
      await sleep(S.downMs);
      const notServingAt = health.allReported("NOT_SERVING", stopAt);
      const startMs = await database.start();
      const upAt = Date.now();

      // A single-message probe every 100 ms measures when Publish works again; what it published is
      // audited with the rest.
      const prober = new ChaosPublisher(cluster, publisherCode, topic);
      let firstPublishOkAt: number | undefined;
      while (firstPublishOkAt === undefined && Date.now() - upAt < 60_000) {
        const ok = await prober.publish([{ id: `db-probe-${prober.calls}` }], 0);
        if (ok) firstPublishOkAt = Date.now();
        else await sleep(100);
      }
      for (const [id, messageId] of prober.published) publisher.published.set(id, messageId);
      await sleep(S.loadAfterMs);
      loading = false;
      await publishing;
      await sleep(500);
      const servingAgainAt = health.allReported("SERVING", upAt);
      await health.stop();
      const streamEndingsAfter = streams.map((c) => [...c.endings.values()].reduce((a, b) => a + b, 0));
      memory.push(...(await cluster.sample()));
      const since = (from: number, at: number | undefined) => (at === undefined ? "never" : at - from);

      const report = await finishScenario({
        id: "2-db-restart",
        title: `MariaDB stopped for ${S.downMs} ms in the middle of a load, then started again`,
        startedAtMs,
        settings: { ...S, database: database.mode },
        cluster,
        publisher,
        ledgers,
        consumers: [...streams, ...pulls],
        memory,
        recovery: {
          [`database stop (${S.stopSignal} → exited)`]: stopMs,
          "database start (spawn → answering)": startMs,
          "stop → every instance NOT_SERVING": since(stopAt, notServingAt),
          "database up → first Publish OK": since(upAt, firstPublishOkAt),
          "database up → every instance SERVING": since(upAt, servingAgainAt),
          "database up → first stream ack": since(upAt, stream.firstAckAfter(upAt)),
          "database up → first Pull ack": since(upAt, pull.firstAckAfter(upAt)),
          "database up → first webhook 2xx": since(upAt, push.firstAckAfter(upAt)),
          "longest Publish outage seen by a publisher": longestPublishOutageMs(publisher),
          "database down for": upAt - downAt,
        },
        extra: {
          "webhook answers": webhook.answers,
          "recovery probe": { calls: prober.calls, failedAttempts: prober.failureSummary() },
          "streams that ended during the outage": streamEndingsAfter.map(
            (n, i) => n - (streamEndingsBefore[i] ?? 0),
          ),
        },
        check: () => {
          const failures: string[] = [];
          const codes = Object.keys(publisher.failureSummary()).filter((c) => c !== "Unavailable");
          if (codes.length > 0) {
            failures.push(
              `Publish failed with ${codes.join(", ")} during the outage (expected UNAVAILABLE only): ${JSON.stringify(publisher.failureSummary())}`,
            );
          }
          if (publisher.slowestFailureMs >= 15_000) {
            failures.push(`a failed Publish took ${publisher.slowestFailureMs} ms (bound: 15 s)`);
          }
          if (firstPublishOkAt === undefined)
            failures.push("Publish never worked again after the database came back");
          if (notServingAt === undefined)
            failures.push("health never reported NOT_SERVING on every instance during the outage");
          if (servingAgainAt === undefined)
            failures.push("health never reported SERVING again on every instance");
          const ended =
            streamEndingsAfter.reduce((a, b) => a + b, 0) - streamEndingsBefore.reduce((a, b) => a + b, 0);
          if (ended > 0)
            failures.push(
              `${ended} Subscribe streams ended during or after the outage instead of staying open`,
            );
          return failures;
        },
      });
      expect(report.failures).toEqual([]);
    });
  },
);
