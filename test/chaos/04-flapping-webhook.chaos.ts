/**
 * Chaos 4: two PUSH subscriptions to one webhook receiver that flaps — every few hundred ms it
 * switches between answering 204, 500, holding requests past Herald's push timeout, and resetting
 * connections — then steadies at 204. Every message must end received (a 204) or dead-lettered.
 */
import { afterAll, describe, expect, it } from "vitest";
import { killHeraldProcesses } from "../support/herald-process.js";
import type { TestDatabase } from "../support/test-databases.js";
import { ChaosCluster } from "./support/chaos-cluster.js";
import { ChaosPublisher, chaosIds } from "./support/chaos-publisher.js";
import { finishScenario } from "./support/chaos-scenario.js";
import { CHAOS } from "./support/chaos-settings.js";
import { chaosDatabaseTarget, createTopology, sleep } from "./support/chaos-topology.js";
import { type ChaosWebhook, startChaosWebhook, type WebhookMode } from "./support/chaos-webhook.js";
import { DeliveryLedger } from "./support/delivery-ledger.js";

const S = CHAOS.webhook;
const PUSH_TIMEOUT_MS = 1_000;
const MODES: readonly WebhookMode[] = ["ok", "error", "timeout", "reset"];
const MAX_ATTEMPTS = [8, 3] as const;

describe.skipIf(chaosDatabaseTarget === undefined)("chaos 4: a flapping webhook receiver", () => {
  let db: TestDatabase | undefined;
  let webhook: ChaosWebhook | undefined;
  afterAll(async () => {
    await killHeraldProcesses();
    await webhook?.close();
    await db?.drop();
  });

  it("loses nothing while the receiver flaps between 200, 500, timeouts and connection resets", async () => {
    const startedAtMs = Date.now();
    db = await (chaosDatabaseTarget as NonNullable<typeof chaosDatabaseTarget>).create();
    const cluster = await ChaosCluster.start(db.url, 2, { HERALD_PUSH_TIMEOUT_MS: String(PUSH_TIMEOUT_MS) });
    const ledgers = [new DeliveryLedger("flap-a"), new DeliveryLedger("flap-b")];
    let flapping = true;
    // Each phase of flapMs answers one mode, drawn at random per phase (a fixed cycle could line up
    // with Herald's retry timing); after the flapping, always 204.
    const phaseModes = new Map<number, WebhookMode>();
    const flapStartedAt = Date.now();
    const phaseMode = () => {
      const phase = Math.floor((Date.now() - flapStartedAt) / S.flapMs);
      let mode = phaseModes.get(phase);
      if (!mode) {
        mode = MODES[Math.floor(Math.random() * MODES.length)] as WebhookMode;
        phaseModes.set(phase, mode);
      }
      return mode;
    };
    webhook = await startChaosWebhook({
      ledgerFor: (name) => ledgers.find((l) => l.subscription === name),
      mode: () => (flapping ? phaseMode() : "ok"),
      timeoutHoldMs: PUSH_TIMEOUT_MS + 500,
    });
    const { publisher: publisherCode, topic } = await createTopology(
      await cluster.pick(),
      "flap",
      // flap-a retries up to 8 times (almost everything gets through); flap-b gives up after 3
      // attempts, so part of it lands in the DLQ.
      ledgers.map((l, i) => ({
        name: l.subscription,
        type: "push" as const,
        ackDeadlineSeconds: 10,
        maxDeliveryAttempts: MAX_ATTEMPTS[i],
        minBackoffMs: 100,
        maxBackoffMs: 1_000,
      })),
      webhook.url,
    );
    const publisher = new ChaosPublisher(cluster, publisherCode, topic);
    const publishing = publisher.publishPaced(chaosIds("flap", S.messages), {
      batchSize: 10,
      durationMs: S.flappingMs * 0.2,
      concurrency: 2,
    });
    await sleep(S.flappingMs);
    flapping = false;
    const steadyAt = Date.now();
    await publishing;
    const answersDuringFlapping = { ...webhook.answers };

    const report = await finishScenario({
      id: "4-webhook",
      title: `webhook flapping every ~${S.flapMs} ms between 204, 500, timeouts and resets for ${S.flappingMs} ms`,
      startedAtMs,
      settings: { ...S, pushTimeoutMs: PUSH_TIMEOUT_MS, maxDeliveryAttempts: MAX_ATTEMPTS },
      cluster,
      publisher,
      ledgers,
      consumers: [],
      recoveryAfterDrain: () => ({
        "receiver steady (204) → last message received": Math.max(
          0,
          ...ledgers.map((l) => (l.ackTimesMs[l.ackTimesMs.length - 1] ?? steadyAt) - steadyAt),
        ),
      }),
      extra: {
        "webhook answers while flapping": answersDuringFlapping,
        "phases by mode": Object.fromEntries(
          MODES.map((m) => [m, [...phaseModes.values()].filter((x) => x === m).length]),
        ),
        "webhook answers in total": webhook.answers,
        "malformed pushes": webhook.malformed,
      },
      check: () =>
        webhook && webhook.malformed > 0 ? [`${webhook.malformed} pushes could not be parsed`] : [],
    });
    expect(report.failures).toEqual([]);
  });
});
