/**
 * Chaos 3: consumers that misbehave, on two instances. One subscription is consumed at once by a
 * well-behaved stream and by streams that disconnect mid-batch, ack late (after the lease ran out),
 * ack twice and nack everything, plus a Pull loop that drops what it pulls; every message must end
 * acked or dead-lettered. A second subscription only ever gets nacks: all of it must reach the DLQ
 * (MAX_ATTEMPTS), none of it acked.
 */
import { afterAll, describe, expect, it } from "vitest";
import { killHeraldProcesses } from "../support/herald-process.js";
import type { TestDatabase } from "../support/test-databases.js";
import { ChaosCluster } from "./support/chaos-cluster.js";
import { ChaosConsumer, type ConsumerOptions } from "./support/chaos-consumer.js";
import { ChaosPublisher, chaosIds } from "./support/chaos-publisher.js";
import { finishScenario } from "./support/chaos-scenario.js";
import { CHAOS } from "./support/chaos-settings.js";
import { chaosDatabaseTarget, createTopology, sleep } from "./support/chaos-topology.js";
import { DeliveryLedger } from "./support/delivery-ledger.js";

const S = CHAOS.consumers;
const ACK_DEADLINE_SECONDS = 10;
const NACK_ALL_ATTEMPTS = 3;

describe.skipIf(chaosDatabaseTarget === undefined)("chaos 3: misbehaving consumers", () => {
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await killHeraldProcesses();
    await db?.drop();
  });

  it("loses nothing to consumers that disconnect mid-batch, ack late, ack twice and nack everything", async () => {
    const startedAtMs = Date.now();
    db = await (chaosDatabaseTarget as NonNullable<typeof chaosDatabaseTarget>).create();
    const cluster = await ChaosCluster.start(db.url, 2);
    const mixed = new DeliveryLedger("misbehave-mixed");
    const nackAll = new DeliveryLedger("misbehave-nack-all");
    const { publisher: publisherCode, topic } = await createTopology(await cluster.pick(), "misbehave", [
      {
        name: "misbehave-mixed",
        type: "pull",
        ackDeadlineSeconds: ACK_DEADLINE_SECONDS,
        maxDeliveryAttempts: 5,
        minBackoffMs: 100,
        maxBackoffMs: 500,
      },
      {
        name: "misbehave-nack-all",
        type: "pull",
        ackDeadlineSeconds: ACK_DEADLINE_SECONDS,
        maxDeliveryAttempts: NACK_ALL_ATTEMPTS,
        minBackoffMs: 100,
        maxBackoffMs: 200,
      },
    ]);
    const on = (ledger: DeliveryLedger, mode: "stream" | "pull", options: ConsumerOptions) =>
      new ChaosConsumer(cluster, ledger, options).start(mode);
    const consumers = [
      on(mixed, "stream", { name: "good", behaviour: "ack", maxMessages: 50 }),
      on(mixed, "stream", {
        name: "disconnects-mid-batch",
        behaviour: "disconnect-mid-batch",
        maxMessages: 20,
      }),
      on(mixed, "stream", {
        name: "acks-late",
        behaviour: "ack-late",
        maxMessages: 10,
        lateAckMs: (ACK_DEADLINE_SECONDS + 2) * 1000,
      }),
      on(mixed, "stream", { name: "acks-twice", behaviour: "ack-twice", maxMessages: 20, ackAnywhere: true }),
      on(mixed, "stream", { name: "nacks", behaviour: "nack", maxMessages: 20 }),
      on(mixed, "pull", { name: "pulls-and-drops", behaviour: "drop", maxMessages: 10 }),
      on(nackAll, "stream", { name: "nack-all-a", behaviour: "nack", maxMessages: 50 }),
      on(nackAll, "stream", { name: "nack-all-b", behaviour: "nack", maxMessages: 50 }),
    ];
    const publisher = new ChaosPublisher(cluster, publisherCode, topic);
    await publisher.publishPaced(chaosIds("misbehave", S.messages), {
      batchSize: 20,
      durationMs: 3_000,
      concurrency: 2,
    });
    // Then the misbehaving consumers of the mixed subscription go away (the nack-only ones stay):
    // whatever they held, dropped or acked too late must still reach the good consumer or the DLQ.
    await sleep(S.misbehaveMs);
    for (const consumer of consumers.slice(1, 6)) await consumer.stop();

    const report = await finishScenario({
      id: "3-consumers",
      title: "consumers that disconnect mid-batch, ack late, ack twice, nack everything and drop pulls",
      startedAtMs,
      settings: { ...S, ackDeadlineSeconds: ACK_DEADLINE_SECONDS, nackAllAttempts: NACK_ALL_ATTEMPTS },
      cluster,
      publisher,
      ledgers: [mixed, nackAll],
      consumers,
      extra: {
        "deliveries per consumer": Object.fromEntries(consumers.map((c) => [c.options.name, c.deliveries])),
      },
      check: (audit) => {
        const failures: string[] = [];
        const row = audit.rows.find((r) => r.subscription === "misbehave-nack-all");
        if (row && row.acked > 0)
          failures.push(`${row.acked} messages of the nack-only subscription count as acked`);
        if (row && row.deadLettered !== row.published) {
          failures.push(`only ${row.deadLettered} of ${row.published} nacked-only messages reached the DLQ`);
        }
        const reasons = Object.keys(row?.deadLetterReasons ?? {});
        if (reasons.some((r) => r !== "MAX_ATTEMPTS")) {
          failures.push(
            `nacked-only messages dead-lettered for ${reasons.join(", ")} (expected MAX_ATTEMPTS)`,
          );
        }
        for (const r of audit.rows) {
          if (r.ackedAndDeadLettered > 0)
            failures.push(`${r.subscription}: ${r.ackedAndDeadLettered} acked ids also in the DLQ`);
        }
        if (mixed.secondAckInvalid > 0) {
          failures.push(
            `acking twice reported ${mixed.secondAckInvalid} ack ids invalid (README: acking twice is harmless)`,
          );
        }
        return failures;
      },
    });
    expect(report.failures).toEqual([]);
  });
});
