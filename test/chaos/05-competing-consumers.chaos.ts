/**
 * Chaos 5: three instances, competing Subscribe streams on every instance at full speed, on an
 * ordered and an unordered subscription of one topic. Per ordering key, messages arrive in publish
 * order (the next one only after the previous was acked); no message is ever outstanding on two
 * streams at once (checked from receipt until the ack is sent, with 60 s leases that cannot expire).
 */
import { afterAll, describe, expect, it } from "vitest";
import { killHeraldProcesses } from "../support/herald-process.js";
import type { TestDatabase } from "../support/test-databases.js";
import { ChaosCluster, type ProcessSample } from "./support/chaos-cluster.js";
import { ChaosConsumer } from "./support/chaos-consumer.js";
import { ChaosPublisher, type OutgoingChaosMessage } from "./support/chaos-publisher.js";
import { finishScenario } from "./support/chaos-scenario.js";
import { CHAOS } from "./support/chaos-settings.js";
import { chaosDatabaseTarget, createTopology, sleep } from "./support/chaos-topology.js";
import { DeliveryLedger } from "./support/delivery-ledger.js";

const S = CHAOS.compete;
const PUBLISH_LOOPS = 3;
const BATCH = 50;

describe.skipIf(chaosDatabaseTarget === undefined)("chaos 5: competing consumers on three instances", () => {
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await killHeraldProcesses();
    await db?.drop();
  });

  it("keeps per-key order and never leases one message to two streams at full speed", async () => {
    const startedAtMs = Date.now();
    db = await (chaosDatabaseTarget as NonNullable<typeof chaosDatabaseTarget>).create();
    const cluster = await ChaosCluster.start(db.url, S.instances);
    const { publisher: publisherCode, topic } = await createTopology(await cluster.pick(), "compete", [
      { name: "compete-ordered", type: "pull", ackDeadlineSeconds: 60, enableOrdering: true },
      { name: "compete-unordered", type: "pull", ackDeadlineSeconds: 60 },
    ]);
    const publisher = new ChaosPublisher(cluster, publisherCode, topic);
    const ordered = new DeliveryLedger("compete-ordered", {
      checkExclusive: true,
      orderOf: (id) => publisher.order.get(id),
    });
    const unordered = new DeliveryLedger("compete-unordered", { checkExclusive: true });
    const ledgers = [ordered, unordered];
    const consumers: ChaosConsumer[] = [];
    for (const ledger of ledgers) {
      for (let slot = 0; slot < S.instances; slot++) {
        for (let i = 0; i < S.streamsPerInstance; i++) {
          consumers.push(
            new ChaosConsumer(cluster, ledger, {
              name: `${ledger.subscription}-${slot}.${i}`,
              behaviour: "ack",
              maxMessages: 100,
              preferSlot: slot,
              // Half the streams ack through another instance: leases live in the database.
              ackAnywhere: i % 2 === 1,
            }).start("stream"),
          );
        }
      }
    }

    // Each publishing loop owns the keys k ≡ loop (mod loops), so a key's messages are published in
    // one sequence of requests; loops pause while more than maxBacklog messages are unacked.
    const runUntil = Date.now() + S.seconds * 1000;
    const memory: ProcessSample[] = await cluster.sample();
    const unacked = () => publisher.published.size - Math.min(ordered.acked.size, unordered.acked.size);
    const loop = async (index: number) => {
      const keys = Array.from({ length: S.orderingKeys }, (_, k) => k).filter(
        (k) => k % PUBLISH_LOOPS === index,
      );
      let n = 0;
      while (Date.now() < runUntil) {
        if (unacked() > S.maxBacklog) {
          await sleep(10);
          continue;
        }
        const batch: OutgoingChaosMessage[] = [];
        for (let j = 0; j < BATCH; j++) {
          const key = `key-${keys[n % keys.length]}`;
          const id = `compete-${index}-${n++}`;
          publisher.reserveOrder(id, key);
          batch.push({ id, orderingKey: key });
        }
        await publisher.publish(batch);
      }
    };
    await Promise.all(Array.from({ length: PUBLISH_LOOPS }, (_, i) => loop(i)));
    const publishSeconds = S.seconds;
    const publishedInTime = publisher.published.size;
    memory.push(...(await cluster.sample()));

    const report = await finishScenario({
      id: "5-compete",
      title: `${S.instances} instances × ${S.streamsPerInstance} streams per subscription at full speed for ${S.seconds} s`,
      startedAtMs,
      settings: { ...S, publishLoops: PUBLISH_LOOPS, batch: BATCH },
      cluster,
      publisher,
      ledgers,
      consumers,
      memory,
      extra: {
        throughput: `${Math.round(publishedInTime / publishSeconds)} messages/s published (× 2 subscriptions delivered and acked)`,
        "deliveries per stream": Object.fromEntries(consumers.map((c) => [c.options.name, c.deliveries])),
      },
      check: (audit) => {
        const failures: string[] = [];
        for (const row of audit.rows) {
          if (row.exclusivityViolations > 0) {
            failures.push(
              `${row.subscription}: ${row.exclusivityViolations} deliveries to a second stream while outstanding (${row.exclusivitySample.join("; ")})`,
            );
          }
          if (row.orderViolations > 0) {
            failures.push(
              `${row.subscription}: ${row.orderViolations} per-key order violations (${row.orderSample.join("; ")})`,
            );
          }
        }
        const streamsUsed = consumers.filter((c) => c.deliveries > 0).length;
        if (streamsUsed < consumers.length / 2)
          failures.push(`only ${streamsUsed} of ${consumers.length} streams got messages`);
        return failures;
      },
    });
    expect(report.failures).toEqual([]);
  });
});
