/**
 * Chaos 1: three `herald serve` instances on one MariaDB; one of them is SIGKILLed every few seconds
 * (and started again) while publishers, stream and Pull consumers and a webhook are busy. Killed
 * leases expire and are redelivered; publishes that failed are retried with their dedup_ids.
 */
import { afterAll, describe, expect, it } from "vitest";
import { killHeraldProcesses } from "../support/herald-process.js";
import type { TestDatabase } from "../support/test-databases.js";
import { ChaosCluster, type ProcessSample } from "./support/chaos-cluster.js";
import { ChaosConsumer } from "./support/chaos-consumer.js";
import { ChaosPublisher } from "./support/chaos-publisher.js";
import { finishScenario, longestPublishOutageMs } from "./support/chaos-scenario.js";
import { CHAOS } from "./support/chaos-settings.js";
import { chaosDatabaseTarget, createTopology, sleep } from "./support/chaos-topology.js";
import { type ChaosWebhook, startChaosWebhook } from "./support/chaos-webhook.js";
import { DeliveryLedger } from "./support/delivery-ledger.js";

const S = CHAOS.kill;

describe.skipIf(chaosDatabaseTarget === undefined)(
  "chaos 1: SIGKILL instances during publish and delivery",
  () => {
    let db: TestDatabase | undefined;
    let webhook: ChaosWebhook | undefined;
    afterAll(async () => {
      await killHeraldProcesses();
      await webhook?.close();
      await db?.drop();
    });

    it(`loses nothing while one of ${S.instances} instances is SIGKILLed ${S.kills} times`, async () => {
      const startedAtMs = Date.now();
      db = await (chaosDatabaseTarget as NonNullable<typeof chaosDatabaseTarget>).create();
      const cluster = await ChaosCluster.start(db.url, S.instances);
      const stream = new DeliveryLedger("kill-stream");
      const pull = new DeliveryLedger("kill-pull");
      const push = new DeliveryLedger("kill-push");
      const ledgers = [stream, pull, push];
      webhook = await startChaosWebhook({
        ledgerFor: (name) => ledgers.find((l) => l.subscription === name),
      });
      const first = await cluster.pick();
      const { publisher: publisherCode, topic } = await createTopology(
        first,
        "kill",
        [
          { name: "kill-stream", type: "pull" },
          { name: "kill-pull", type: "pull" },
          { name: "kill-push", type: "push" },
        ],
        webhook.url,
      );
      // Consumers take a moment per batch, so a kill finds leases in flight on the killed instance.
      // Consumer 0 of each kind does not retry a failed ack elsewhere: its batch on a killed instance
      // is left to lease expiry and redelivery; the others ack through a live instance instead.
      const consumers = [
        ...Array.from({ length: 3 }, (_, i) =>
          new ChaosConsumer(cluster, stream, {
            name: `stream-${i}`,
            behaviour: "ack",
            maxMessages: 50,
            processingMs: 300,
            retrySettle: i > 0,
          }).start("stream"),
        ),
        ...Array.from({ length: 2 }, (_, i) =>
          new ChaosConsumer(cluster, pull, {
            name: `pull-${i}`,
            behaviour: "ack",
            maxMessages: 50,
            processingMs: 300,
            retrySettle: i > 0,
          }).start("pull"),
        ),
      ];
      const publisher = new ChaosPublisher(cluster, publisherCode, topic);
      let killing = true;
      const publishing = publisher.publishWhile("kill", {
        ratePerSecond: S.ratePerSecond,
        batchSize: 10,
        concurrency: 3,
        isDone: () => !killing,
      });

      // One kill every intervalMs; the killed slot restarts in the background, and the next kill
      // waits for it, so at most one instance is down at a time.
      const restartMs: number[] = [];
      const memory: ProcessSample[] = await cluster.sample();
      let restarting: Promise<void> = Promise.resolve();
      for (let k = 0; k < S.kills; k++) {
        await sleep(S.intervalMs);
        await restarting;
        const slot = Math.floor(Math.random() * S.instances);
        await cluster.kill(slot);
        const killedAt = Date.now();
        restarting = cluster.startSlot(slot).then(() => {
          restartMs.push(Date.now() - killedAt);
        });
      }
      await restarting;
      await sleep(1_000);
      killing = false;
      await publishing;
      memory.push(...(await cluster.sample()));

      const report = await finishScenario({
        id: "1-kill",
        title: `SIGKILL one of ${S.instances} instances every ${S.intervalMs} ms (${S.kills} kills)`,
        startedAtMs,
        settings: { ...S, restartsAwaited: true },
        cluster,
        publisher,
        ledgers,
        consumers,
        memory,
        recovery: {
          "kill → replacement listening (max)": Math.max(...restartMs),
          "kill → replacement listening (avg)": Math.round(
            restartMs.reduce((a, b) => a + b, 0) / restartMs.length,
          ),
          "longest Publish outage seen by a publisher": longestPublishOutageMs(publisher),
        },
        extra: { "webhook answers": webhook.answers },
      });
      expect(report.failures).toEqual([]);
    });
  },
);
