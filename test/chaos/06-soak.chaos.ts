/**
 * Chaos 6, the soak: two instances at a steady publish rate with Subscribe streams, Pull loops and
 * webhook pushes for CHAOS_SOAK_SECONDS (600 for the ten-minute soak). Samples every instance's RSS
 * and heap (after a forced GC), active handles and open fds, the database connections and the table
 * sizes over the run, and fails on unbounded growth of handles, fds or connections, or a heap that
 * keeps growing.
 */
import knexFactory, { type Knex } from "knex";
import { afterAll, describe, expect, it } from "vitest";
import { killHeraldProcesses } from "../support/herald-process.js";
import type { TestDatabase } from "../support/test-databases.js";
import { ChaosCluster, type ProcessSample } from "./support/chaos-cluster.js";
import { ChaosConsumer } from "./support/chaos-consumer.js";
import { ChaosPublisher } from "./support/chaos-publisher.js";
import { finishScenario } from "./support/chaos-scenario.js";
import { CHAOS } from "./support/chaos-settings.js";
import { chaosDatabaseTarget, createTopology, sleep } from "./support/chaos-topology.js";
import { type ChaosWebhook, startChaosWebhook } from "./support/chaos-webhook.js";
import { DeliveryLedger } from "./support/delivery-ledger.js";

const S = CHAOS.soak;
const POOL_MAX = 10;
const TABLES = ["messages", "queue_items", "notification_logs", "message_dedup", "dead_letters"] as const;

interface DatabaseSample {
  atMs: number;
  connections: number;
  tables: Record<string, number>;
}

async function sampleDatabase(knex: Knex, database: string): Promise<DatabaseSample> {
  const [connections] = (await knex.raw(
    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?",
    [database],
  )) as [{ n: number }[]];
  const tables: Record<string, number> = {};
  for (const table of TABLES) {
    const [rows] = (await knex.raw("SELECT COUNT(*) AS n FROM ??", [table])) as [{ n: number }[]];
    tables[table] = Number(rows[0]?.n ?? 0);
  }
  return { atMs: Date.now(), connections: Number(connections[0]?.n ?? 0) - 1, tables };
}

const mb = (bytes: number) => bytes / 1024 / 1024;

describe.skipIf(chaosDatabaseTarget === undefined)("chaos 6: soak", () => {
  let db: TestDatabase | undefined;
  let webhook: ChaosWebhook | undefined;
  let direct: Knex | undefined;
  afterAll(async () => {
    await killHeraldProcesses();
    await webhook?.close();
    await direct?.destroy();
    await db?.drop();
  });

  it(`runs ${S.seconds} s at ${S.ratePerSecond} messages/s with streams, pulls and pushes without loss or unbounded growth`, async () => {
    const startedAtMs = Date.now();
    db = await (chaosDatabaseTarget as NonNullable<typeof chaosDatabaseTarget>).create();
    const database = new URL(db.url).pathname.slice(1);
    const cluster = await ChaosCluster.start(db.url, S.instances, { HERALD_DB_POOL_MAX: String(POOL_MAX) });
    direct = knexFactory({ client: "mysql2", connection: db.url, pool: { min: 0, max: 1 } });
    const stream = new DeliveryLedger("soak-stream");
    const pull = new DeliveryLedger("soak-pull");
    const push = new DeliveryLedger("soak-push");
    const ledgers = [stream, pull, push];
    webhook = await startChaosWebhook({ ledgerFor: (name) => ledgers.find((l) => l.subscription === name) });
    const { publisher: publisherCode, topic } = await createTopology(
      await cluster.pick(),
      "soak",
      [
        { name: "soak-stream", type: "pull" },
        { name: "soak-pull", type: "pull" },
        { name: "soak-push", type: "push" },
      ],
      webhook.url,
    );
    const consumers = [
      ...[0, 1].map((slot) =>
        new ChaosConsumer(cluster, stream, {
          name: `stream-${slot}`,
          behaviour: "ack",
          maxMessages: 100,
          preferSlot: slot,
        }).start("stream"),
      ),
      ...[0, 1].map((slot) =>
        new ChaosConsumer(cluster, pull, {
          name: `pull-${slot}`,
          behaviour: "ack",
          maxMessages: 100,
          preferSlot: slot,
        }).start("pull"),
      ),
    ];
    const publisher = new ChaosPublisher(cluster, publisherCode, topic);
    const runUntil = Date.now() + S.seconds * 1000;
    const publishing = publisher.publishWhile("soak", {
      ratePerSecond: S.ratePerSecond,
      batchSize: 10,
      concurrency: 2,
      isDone: () => Date.now() >= runUntil,
    });

    const memory: ProcessSample[] = [];
    const databaseSamples: DatabaseSample[] = [];
    const poolSamples: string[] = [];
    const take = async () => {
      memory.push(...(await cluster.sample()));
      databaseSamples.push(await sampleDatabase(direct as Knex, database));
    };
    await take();
    while (Date.now() < runUntil) {
      await sleep(Math.min(S.sampleEveryMs, Math.max(0, runUntil - Date.now())));
      await take();
    }
    await publishing;
    for (const node of cluster.live()) {
      if (!node.metricsUrl) continue;
      const text = await (await fetch(node.metricsUrl)).text();
      const gauge = (name: string) => new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? "?";
      poolSamples.push(
        `instance ${node.slot}: pool used ${gauge("herald_db_pool_used")} of ${gauge("herald_db_pool_size")}`,
      );
    }

    // Growth: compare the end with the first sample after warm-up (a quarter of the run).
    const warmupAt = startedAtMs + (Date.now() - startedAtMs) / 4;
    let afterDrain: DatabaseSample | undefined;
    const report = await finishScenario({
      id: "6-soak",
      title: `soak: ${S.seconds} s at ${S.ratePerSecond} messages/s with streams, pulls and pushes`,
      startedAtMs,
      settings: { ...S, poolMax: POOL_MAX },
      cluster,
      publisher,
      ledgers,
      consumers,
      memory,
      beforeStop: async () => {
        afterDrain = await sampleDatabase(direct as Knex, database);
      },
      extra: {
        "webhook answers": webhook.answers,
        "database connections (samples)": databaseSamples.map((s) => s.connections).join(" "),
        "table sizes start → end of load": `${JSON.stringify(databaseSamples[0]?.tables)} → ${JSON.stringify(databaseSamples[databaseSamples.length - 1]?.tables)}`,
        "db pool at the end of the load": poolSamples.join("; "),
        "heap used after GC over time (MB, per instance)": [0, 1]
          .map(
            (slot) =>
              `${slot}: ${memory
                .filter((m) => m.slot === slot)
                .map((m) => mb(m.heapUsedBytes).toFixed(1))
                .join(" ")}`,
          )
          .join(" | "),
      },
      check: () => {
        const failures: string[] = [];
        const maxConnections = Math.max(...databaseSamples.map((s) => s.connections));
        if (maxConnections > S.instances * POOL_MAX) {
          failures.push(`${maxConnections} database connections (limit ${S.instances} × ${POOL_MAX})`);
        }
        if (afterDrain && afterDrain.connections > S.instances * POOL_MAX) {
          failures.push(`${afterDrain.connections} database connections after the drain`);
        }
        for (const slot of [0, 1]) {
          const samples = memory.filter((m) => m.slot === slot);
          const base = samples.find((m) => m.atMs >= warmupAt) ?? samples[0];
          const last = samples[samples.length - 1];
          if (!base || !last) continue;
          if (last.openFds > base.openFds + 30)
            failures.push(`instance ${slot}: open fds ${base.openFds} → ${last.openFds}`);
          if (last.activeHandles > base.activeHandles + 30) {
            failures.push(`instance ${slot}: active handles ${base.activeHandles} → ${last.activeHandles}`);
          }
          // Heap after a full GC: a leak shows as steady growth; allow 50 % plus 20 MB of noise.
          if (last.heapUsedBytes > base.heapUsedBytes * 1.5 + 20 * 1024 * 1024) {
            failures.push(
              `instance ${slot}: heap after GC ${mb(base.heapUsedBytes).toFixed(1)} MB → ${mb(last.heapUsedBytes).toFixed(1)} MB`,
            );
          }
        }
        return failures;
      },
    });
    expect(report.failures).toEqual([]);
  });
});
