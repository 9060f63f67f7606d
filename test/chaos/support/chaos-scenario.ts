/**
 * The common end of a scenario: drain and audit, stop the consumers, SIGTERM the servers (each must
 * exit 0), print and save the report. The pass condition is lost = 0 (and no id stored twice);
 * scenarios add their own checks through `check`.
 */
import { type AuditResult, drainAndAudit } from "./chaos-audit.js";
import type { ChaosCluster, ProcessSample } from "./chaos-cluster.js";
import type { ChaosConsumer } from "./chaos-consumer.js";
import type { ChaosPublisher } from "./chaos-publisher.js";
import { exitsOf, publishReport, publishSummary, type ScenarioReport } from "./chaos-report.js";
import { CHAOS } from "./chaos-settings.js";
import type { DeliveryLedger } from "./delivery-ledger.js";

export interface FinishOptions {
  id: string;
  title: string;
  startedAtMs: number;
  settings: Record<string, unknown>;
  cluster: ChaosCluster;
  publisher: ChaosPublisher;
  ledgers: readonly DeliveryLedger[];
  consumers: readonly ChaosConsumer[];
  recovery?: Record<string, number | string>;
  /** Recovery times only known after the drain (e.g. when the last message got through). */
  recoveryAfterDrain?: () => Record<string, number | string>;
  /** Taken before the drain; finish adds one more sample after it. */
  memory?: ProcessSample[];
  extra?: Record<string, unknown>;
  /** Scenario-specific failures, decided from the audit (empty when fine). */
  check?: (audit: AuditResult) => string[] | Promise<string[]>;
  /** Runs after the audit, before the servers are stopped (e.g. final measurements). */
  beforeStop?: () => Promise<void>;
}

export async function finishScenario(options: FinishOptions): Promise<ScenarioReport> {
  const { cluster, publisher, ledgers } = options;
  const audit = await drainAndAudit(cluster, publisher.published, ledgers, CHAOS.drainMs, CHAOS.settleMs);
  for (const consumer of options.consumers) await consumer.stop();
  const memory = [...(options.memory ?? []), ...(await cluster.sample())];
  await options.beforeStop?.();
  const stops = await cluster.stopAll();
  const failures: string[] = [];
  if (audit.lost > 0)
    failures.push(`${audit.lost} published ids were lost (not acked, not received, not in the DLQ)`);
  if (audit.storedDuplicates > 0)
    failures.push(`${audit.storedDuplicates} dedup_ids were stored as two messages`);
  for (const { slot, exit } of stops) {
    if (exit.code !== 0) failures.push(`instance ${slot} did not exit 0 on SIGTERM: ${JSON.stringify(exit)}`);
  }
  failures.push(...((await options.check?.(audit)) ?? []));
  const streamEndings: Record<string, Record<string, number>> = {};
  for (const consumer of options.consumers) {
    streamEndings[consumer.options.name] = Object.fromEntries(consumer.endings);
  }
  const report: ScenarioReport = {
    id: options.id,
    title: options.title,
    passed: failures.length === 0,
    durationMs: Date.now() - options.startedAtMs,
    settings: { quick: CHAOS.quick, ...options.settings },
    publish: publishSummary(publisher),
    audit,
    recovery: { ...options.recovery, ...options.recoveryAfterDrain?.() },
    memory,
    extra: { "consumer endings (by code)": streamEndings, ...(options.extra ?? {}) },
    exits: exitsOf(cluster),
    serverWarnings: Object.fromEntries(cluster.warnings),
    serverErrorSamples: Object.fromEntries(
      [...cluster.warningSamples].filter(([k]) => k.startsWith("error:")),
    ),
    failures,
  };
  publishReport(report);
  return report;
}

/** Longest time from a failed Publish until the next successful one, ms (0 when none failed). */
export function longestPublishOutageMs(publisher: ChaosPublisher): number {
  let longest = 0;
  const successes = [...publisher.successTimesMs].sort((a, b) => a - b);
  for (const failedAt of publisher.failureTimesMs) {
    const next = successes.find((t) => t >= failedAt);
    if (next !== undefined) longest = Math.max(longest, next - failedAt);
  }
  return longest;
}
