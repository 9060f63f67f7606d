/**
 * Herald on a 3-node MariaDB Galera cluster (test/galera/galera-cluster.ts), with real `herald
 * serve` processes, consumers (Subscribe streams, Pull) and a webhook receiver from the chaos
 * suite; every published id is audited (lost = 0, no dedup_id stored twice). One cluster serves
 * the phases in order:
 *  1. single writer: every instance on node 0 (DATABASE_URL lists 0,1,2); node 0 is killed (-9)
 *     under load, the instances move to node 1; node 0 rejoins (IST).
 *  2. multi-writer: instance i on node i (its URL starts with node i); node 1 is killed under
 *     ordered and deduplicated load; per-key order and one message per dedup_id across nodes;
 *     node 1 rejoins. Certification conflicts are counted (wsrep_local_cert_failures, bf aborts).
 *  3. non-primary: node 2 is cut off the group (gmcast.isolate): it leaves the primary component
 *     and the instance on it moves on — to node 0, the node that rejoined in phase 1.
 *  0. two publishes of one ordering key through two nodes conflict at certification.
 *  4. throughput with 3 nodes and with 1 (indicative; full form only).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KnexMessageRepository } from "../../src/storage/knex-message-repository.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { openStore } from "../../src/storage/open-store.js";
import { ChaosCluster, type ChaosNode } from "../chaos/support/chaos-cluster.js";
import { ChaosConsumer } from "../chaos/support/chaos-consumer.js";
import { ChaosPublisher, type OutgoingChaosMessage } from "../chaos/support/chaos-publisher.js";
import { finishScenario, longestPublishOutageMs } from "../chaos/support/chaos-scenario.js";
import { createTopology, sleep } from "../chaos/support/chaos-topology.js";
import { type ChaosWebhook, startChaosWebhook } from "../chaos/support/chaos-webhook.js";
import { DeliveryLedger } from "../chaos/support/delivery-ledger.js";
import { createPublisher, createTopic, messageToStore } from "../storage/conformance-setup.js";
import { killHeraldProcesses } from "../support/herald-process.js";
import { scrape } from "../support/prometheus-text.js";
import { type GaleraCluster, galeraUnavailableReason, startGaleraCluster } from "./galera-cluster.js";
import { GALERA } from "./galera-settings.js";
import { measurePublishThroughput } from "./publish-throughput.js";

const reason = galeraUnavailableReason();
if (reason) console.warn(`Galera scenarios skipped: ${reason}`);

/** The node an instance uses, from its herald_database_node metric ("127.0.0.1:port"), or "?". */
async function nodeOf(instance: ChaosNode): Promise<string> {
  try {
    const text = await scrape(instance.metricsUrl);
    return /herald_database_node\{node="([^"]+)"\} 1/.exec(text)?.[1] ?? "?";
  } catch {
    return "?";
  }
}

/** Every "switching to the next one" log line of the live instances (which host failed, why, where to). */
function switchLines(cluster: ChaosCluster): string[] {
  return cluster
    .live()
    .flatMap((n) =>
      n.proc.outputLines
        .filter((l) => l.includes("switching to the next one"))
        .map((l) => `instance ${n.slot}: ${l}`),
    );
}

/** The report's `extra` and `beforeStop`: every host switch, read from the logs before the instances stop. */
function hostSwitchReport(cluster: ChaosCluster) {
  const switches: string[] = [];
  return {
    extra: { "host switches": switches },
    beforeStop: async () => {
      switches.push(...switchLines(cluster));
    },
  };
}

/** Publishes at GALERA.ratePerSecond (batches of 10, 3 loops) until the returned function is awaited. */
function steadyLoad(publisher: ChaosPublisher, prefix: string): () => Promise<void> {
  let loading = true;
  const publishing = publisher.publishWhile(prefix, {
    ratePerSecond: GALERA.ratePerSecond,
    batchSize: 10,
    concurrency: 3,
    isDone: () => !loading,
  });
  return async () => {
    loading = false;
    await publishing;
  };
}

async function nodesOf(cluster: ChaosCluster): Promise<string[]> {
  return Promise.all(cluster.live().map(nodeOf));
}

/** Waits until every live instance reports `address` as its node (after a request made it reconnect). */
async function waitForNodes(cluster: ChaosCluster, expected: (slot: number) => string, timeoutMs = 20_000) {
  const started = Date.now();
  for (;;) {
    const nodes = await Promise.all(cluster.live().map(async (n) => [n.slot, await nodeOf(n)] as const));
    if (nodes.every(([slot, node]) => node === expected(slot))) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `instances on ${JSON.stringify(nodes)}, expected ${JSON.stringify(nodes.map(([s]) => expected(s)))}`,
      );
    await sleep(200);
  }
}

/**
 * Sum over `nodes` of the wsrep counters that measure certification conflicts (each node counts
 * its own local transactions; a restarted node starts from 0, so pass the nodes that stay up).
 */
async function conflictCounters(
  galera: GaleraCluster,
  nodes: readonly number[],
): Promise<{ certFailures: number; bfAborts: number }> {
  let certFailures = 0;
  let bfAborts = 0;
  for (const node of galera.nodes.filter((n) => nodes.includes(n.index) && n.isRunning)) {
    const rows = await galera
      .query<{ Variable_name: string; Value: string }>(
        node.index,
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')",
      )
      .catch(() => []);
    for (const r of rows) {
      if (r.Variable_name === "wsrep_local_cert_failures") certFailures += Number(r.Value);
      else bfAborts += Number(r.Value);
    }
  }
  return { certFailures, bfAborts };
}

/** The report lines of the conflicts counted during a phase (strings: the report prints numbers as ms). */
function conflictCost(
  before: { certFailures: number; bfAborts: number },
  after: { certFailures: number; bfAborts: number },
  publisher: ChaosPublisher,
): Record<string, string> {
  return {
    "certification failures on the surviving nodes (count)": String(after.certFailures - before.certFailures),
    "brute-force aborts on the surviving nodes (count)": String(after.bfAborts - before.bfAborts),
    "ids published": String(publisher.published.size),
  };
}

describe.skipIf(reason !== undefined)("Herald on a 3-node Galera cluster", () => {
  let galera: GaleraCluster | undefined;
  let webhook: ChaosWebhook | undefined;
  const clusterStartedAtMs = Date.now();
  let clusterStartMs = 0;

  beforeAll(async () => {
    galera = await startGaleraCluster(3);
    clusterStartMs = Date.now() - clusterStartedAtMs;
    console.log(
      `galera: 3 nodes synced in ${clusterStartMs} ms (${galera.nodes.map((n) => n.hostPort).join(", ")})`,
    );
  });

  afterAll(async () => {
    await killHeraldProcesses();
    await webhook?.close();
    await galera?.destroy();
  });

  const g = () => galera as GaleraCluster;
  const address = (index: number) => g().nodes[index]?.hostPort ?? "?";
  /** DATABASE_URL listing every node, starting with `first`. */
  const urlFrom = (database: string, first: number) =>
    g().url(
      database,
      [0, 1, 2].map((i) => (i + first) % 3),
    );

  it("publishes of one ordering key through two nodes conflict at certification: the later commit is refused, not interleaved", async () => {
    // Row locks are node-local on Galera: with only SELECT … FOR UPDATE on the key's slot both
    // would commit, the earlier-committed one possibly with the larger id. The slot write
    // (migration 0010) makes the second commit fail as a deadlock, which Herald retries.
    const a = (await openStore({ databaseUrl: g().url("herald_order", [0]) })) as KnexStore;
    const b = (await openStore({ databaseUrl: g().url("herald_order", [1]), migrate: false })) as KnexStore;
    try {
      const publisher = await createPublisher(a);
      const topic = await createTopic(a);
      const ordered = () => messageToStore(topic.id, publisher.id, { orderingKey: "key-1" });
      const pending = await a.knex.transaction();
      await new KnexMessageRepository(pending, a.dialect).insertMany([ordered()]);
      const [committedId] = await b.transaction((repos) => repos.messages.insertMany([ordered()]));
      // knex's commit() resolves either way; the transaction's outcome is its executionPromise.
      await pending.commit().catch(() => undefined);
      const refused = await pending.executionPromise.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect((refused as { code?: string } | undefined)?.code).toBe("ER_LOCK_DEADLOCK");
      expect(a.dialect.isRetryable(refused)).toBe(true);
      // The retry (as KnexStore.transaction does it) takes an id above the committed one.
      const [retriedId] = await a.transaction((repos) => repos.messages.insertMany([ordered()]));
      expect(retriedId).toBeGreaterThan(committedId as bigint);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("single writer: the writer node is killed (-9) under load, every instance moves on, nothing is lost", async () => {
    const startedAtMs = Date.now();
    const cluster = await ChaosCluster.start(urlFrom("herald_single", 0), 2);
    const stream = new DeliveryLedger("single-stream");
    const pull = new DeliveryLedger("single-pull");
    const push = new DeliveryLedger("single-push");
    const ledgers = [stream, pull, push];
    webhook = await startChaosWebhook({ ledgerFor: (name) => ledgers.find((l) => l.subscription === name) });
    const { publisher: code, topic } = await createTopology(
      await cluster.pick(),
      "single",
      [
        { name: "single-stream", type: "pull" },
        { name: "single-pull", type: "pull" },
        { name: "single-push", type: "push" },
      ],
      webhook.url,
    );
    const consumers = [
      new ChaosConsumer(cluster, stream, { name: "stream-0", behaviour: "ack", maxMessages: 50 }).start(
        "stream",
      ),
      new ChaosConsumer(cluster, stream, { name: "stream-1", behaviour: "ack", maxMessages: 50 }).start(
        "stream",
      ),
      new ChaosConsumer(cluster, pull, { name: "pull-0", behaviour: "ack", maxMessages: 50 }).start("pull"),
    ];
    const publisher = new ChaosPublisher(cluster, code, topic);
    // Nodes 1 and 2 stay up (node 0 is killed and starts its counters again).
    const conflictsBefore = await conflictCounters(g(), [1, 2]);
    const stopLoad = steadyLoad(publisher, "single");
    await sleep(GALERA.loadBeforeMs);
    const before = await nodesOf(cluster);
    const killAt = Date.now();
    await g().stop(0, "SIGKILL");
    const movedMs = await waitForNodes(cluster, () => address(1));
    // The killed node rejoins (IST) while the load goes on.
    const rejoining = g().start(0);
    await sleep(GALERA.loadAfterMs);
    const rejoinMs = await rejoining;
    await g().waitForSize(3);
    await stopLoad();
    const outageMs = longestPublishOutageMs(publisher);
    const report = await finishScenario({
      id: "galera-1-single",
      title: "single writer: kill -9 of the writer node under publish + Subscribe + Pull + push load",
      startedAtMs,
      settings: { ...GALERA, instances: 2, clusterStartMs },
      cluster,
      publisher,
      ledgers,
      consumers,
      recovery: {
        "nodes before": before.join(" "),
        "all instances on the next node after (ms)": movedMs,
        "longest publish outage (ms)": outageMs,
        "killed node rejoined, synced after (ms)": rejoinMs,
        "kill to rejoined (ms)": Date.now() - killAt,
        ...conflictCost(conflictsBefore, await conflictCounters(g(), [1, 2]), publisher),
      },
      ...hostSwitchReport(cluster),
      check: () => [
        ...(before.every((n) => n === address(0))
          ? []
          : [`instances were not all on node 0 before: ${before}`]),
        ...(outageMs < GALERA.maxOutageMs
          ? []
          : [`publish outage ${outageMs} ms ≥ ${GALERA.maxOutageMs} ms`]),
      ],
    });
    expect(report.failures).toEqual([]);
  });

  it("multi-writer: one of three writer nodes is killed (-9); order per key and one message per dedup_id across nodes", async () => {
    const startedAtMs = Date.now();
    const cluster = await ChaosCluster.start(urlFrom("herald_multi", 0), 3, {}, (slot) => ({
      DATABASE_URL: urlFrom("herald_multi", slot),
    }));
    const publisher0 = { order: new Map() };
    const ordered = new DeliveryLedger("multi-ordered", {
      checkExclusive: true,
      orderOf: (id) => publisher0.order.get(id),
    });
    const push = new DeliveryLedger("multi-push");
    const ledgers = [ordered, push];
    await webhook?.close();
    webhook = await startChaosWebhook({ ledgerFor: (name) => ledgers.find((l) => l.subscription === name) });
    const { publisher: code, topic } = await createTopology(
      await cluster.pick(),
      "multi",
      [
        { name: "multi-ordered", type: "pull", ackDeadlineSeconds: 30, enableOrdering: true },
        { name: "multi-push", type: "push" },
      ],
      webhook.url,
    );
    const publisher = new ChaosPublisher(cluster, code, topic);
    publisher0.order = publisher.order;
    const consumers = [0, 1, 2].map((slot) =>
      new ChaosConsumer(cluster, ordered, {
        name: `ordered-${slot}`,
        behaviour: "ack",
        maxMessages: 50,
        preferSlot: slot,
        ackAnywhere: slot === 1,
      }).start("stream"),
    );
    await waitForNodes(cluster, (slot) => address(slot));
    const conflictsBefore = await conflictCounters(g(), [0, 2]);
    let loading = true;
    // Two loops, each owning half of 8 keys, publish batches of 10 through random instances (so a
    // key's consecutive batches go through different nodes); a failed batch is retried with its
    // dedup_ids, often on another node.
    const gapMs = (1000 * 10) / GALERA.ratePerSecond;
    const loop = async (index: number) => {
      let n = 0;
      while (loading) {
        const batch: OutgoingChaosMessage[] = [];
        for (let j = 0; j < 10; j++) {
          const key = `key-${index + 2 * (n % 4)}`;
          const id = `multi-${index}-${n++}`;
          publisher.reserveOrder(id, key);
          batch.push({ id, orderingKey: key });
        }
        await publisher.publish(batch);
        await sleep(gapMs * 2);
      }
    };
    const publishing = Promise.all([loop(0), loop(1)]);
    await sleep(GALERA.loadBeforeMs);
    await g().stop(1, "SIGKILL");
    const movedMs = await waitForNodes(cluster, (slot) => (slot === 1 ? address(2) : address(slot)));
    const rejoining = g().start(1);
    await sleep(GALERA.loadAfterMs);
    const rejoinMs = await rejoining;
    await g().waitForSize(3);
    loading = false;
    await publishing;
    const outageMs = longestPublishOutageMs(publisher);
    const conflictsAfter = await conflictCounters(g(), [0, 2]);
    const report = await finishScenario({
      id: "galera-2-multi",
      title: "multi-writer: kill -9 of one of three writer nodes under ordered, deduplicated load",
      startedAtMs,
      settings: { ...GALERA, instances: 3, keys: 8 },
      cluster,
      publisher,
      ledgers,
      consumers,
      recovery: {
        "instance 1 on node 2 after (ms)": movedMs,
        "longest publish outage (ms)": outageMs,
        "killed node rejoined, synced after (ms)": rejoinMs,
        ...conflictCost(conflictsBefore, conflictsAfter, publisher),
      },
      ...hostSwitchReport(cluster),
      check: (audit) => [
        ...(outageMs < GALERA.maxOutageMs
          ? []
          : [`publish outage ${outageMs} ms ≥ ${GALERA.maxOutageMs} ms`]),
        ...audit.rows
          .filter((r) => r.orderViolations > 0)
          .map(
            (r) => `${r.subscription}: ${r.orderViolations} order violations (${r.orderSample.join("; ")})`,
          ),
      ],
    });
    expect(report.failures).toEqual([]);
  });

  it("non-primary: a node cut off the group is avoided, and the node that rejoined earlier is used again", async () => {
    const startedAtMs = Date.now();
    const cluster = await ChaosCluster.start(urlFrom("herald_partition", 0), 3, {}, (slot) => ({
      DATABASE_URL: urlFrom("herald_partition", slot),
    }));
    const pull = new DeliveryLedger("partition-pull");
    const ledgers = [pull];
    const { publisher: code, topic } = await createTopology(await cluster.pick(), "partition", [
      { name: "partition-pull", type: "pull" },
    ]);
    const consumers = [0, 1, 2].map((slot) =>
      new ChaosConsumer(cluster, pull, {
        name: `pull-${slot}`,
        behaviour: "ack",
        maxMessages: 50,
        preferSlot: slot,
      }).start("stream"),
    );
    await waitForNodes(cluster, (slot) => address(slot));
    const publisher = new ChaosPublisher(cluster, code, topic);
    const stopLoad = steadyLoad(publisher, "partition");
    await sleep(GALERA.loadBeforeMs);
    await g().isolate(2, true);
    const movedMs = await waitForNodes(cluster, (slot) => (slot === 2 ? address(0) : address(slot)), 30_000);
    const isolated = await g().status(2);
    await sleep(GALERA.loadAfterMs / 2);
    await g().isolate(2, false);
    await g().waitForSize(3);
    await sleep(GALERA.loadAfterMs / 2);
    await stopLoad();
    const outageMs = longestPublishOutageMs(publisher);
    const report = await finishScenario({
      id: "galera-3-nonprim",
      title: "non-primary: node 2 isolated from the group (gmcast.isolate) under load, then let back",
      startedAtMs,
      settings: { ...GALERA, instances: 3 },
      cluster,
      publisher,
      ledgers,
      consumers,
      recovery: {
        "isolated node status": `${isolated?.clusterStatus}, wsrep_ready=${isolated?.ready}`,
        "instance 2 on node 0 after (ms)": movedMs,
        "longest publish outage (ms)": outageMs,
      },
      ...hostSwitchReport(cluster),
      check: () => [
        ...(isolated?.clusterStatus === "non-Primary"
          ? []
          : [`node 2 was ${isolated?.clusterStatus}, not non-Primary`]),
        ...(outageMs < GALERA.maxOutageMs
          ? []
          : [`publish outage ${outageMs} ms ≥ ${GALERA.maxOutageMs} ms`]),
      ],
    });
    expect(report.failures).toEqual([]);
  });

  it.skipIf(GALERA.throughputSeconds === 0)(
    "publish throughput with 3 nodes and with 1 (indicative)",
    async () => {
      const three = await measurePublishThroughput(g().url("herald_tput3", [0]), GALERA.throughputSeconds);
      // Nodes leave one at a time with a clean shutdown, so the last one keeps a primary component.
      await g().stop(2, "SIGTERM");
      await g().waitForSize(2);
      await g().stop(1, "SIGTERM");
      await g().waitForSize(1);
      const one = await measurePublishThroughput(g().url("herald_tput1", [0]), GALERA.throughputSeconds);
      console.log(
        `galera publish throughput (messages/s, batches of 100, 4 concurrent): 3 nodes ${three.toFixed(0)}, 1 node ${one.toFixed(0)}`,
      );
      expect(three).toBeGreaterThan(0);
      expect(one).toBeGreaterThan(0);
    },
  );
});
