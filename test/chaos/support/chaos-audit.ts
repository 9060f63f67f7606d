/**
 * The end of every scenario: wait until each published chaos id is acked by a consumer, received
 * by the webhook (answered 2xx) or in the dead-letter queue — or the drain time runs out — then
 * count, per subscription, what was lost, duplicated and violated. lost = 0 is the pass condition.
 */
import { untext } from "../../support/fixtures.js";
import type { ChaosCluster } from "./chaos-cluster.js";
import type { DeliveryLedger } from "./delivery-ledger.js";

export interface QueueStats {
  backlog: number;
  inFlight: number;
  waitingForRetry: number;
  deadLettersUnresolved: number;
}

export interface AuditRow {
  subscription: string;
  published: number;
  /** Acked by a consumer or answered 2xx by the webhook. */
  acked: number;
  deadLettered: number;
  /** Dead letters by failure reason. */
  deadLetterReasons: Record<string, number>;
  lost: number;
  lostSample: string[];
  /** The queue rows of (up to 10) lost ids: status, attempts, method, last error. */
  lostQueueRows: Record<string, unknown>;
  /** Acked by a consumer whose ack call failed on its side, confirmed by the queue row (`sent`). */
  ackedUnconfirmed: number;
  deliveries: number;
  duplicateDeliveries: number;
  redeliveredMessages: number;
  /** Chaos ids stored as two or more messages despite one dedup_id. */
  storedDuplicates: number;
  /** Acked, yet also dead-lettered. */
  ackedAndDeadLettered: number;
  invalidAcks: number;
  nacks: number;
  secondAckInvalid: number;
  ackCallsAbandoned: number;
  exclusivityViolations: number;
  exclusivitySample: string[];
  orderViolations: number;
  orderSample: string[];
  queue: QueueStats | string;
}

export interface AuditResult {
  rows: AuditRow[];
  /** From the call until every id was accounted for (or the drain time ran out), ms. */
  drainMs: number;
  /** From then until every queue was settled, ms; undefined when they did not settle in time. */
  settledMs: number | undefined;
  lost: number;
  storedDuplicates: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads the whole dead-letter queue of `ledger`'s subscription into `ledger.dead`. */
async function readDeadLetters(cluster: ChaosCluster, ledger: DeliveryLedger): Promise<void> {
  const node = await cluster.pick();
  let pageToken = "";
  do {
    const page = await node.clients.deadLetters.listDeadLetters(
      { filter: { subscription: ledger.subscription }, pageSize: 1000, pageToken },
      { timeoutMs: 30_000 },
    );
    for (const d of page.deadLetters) ledger.dead.set(untext(d.messageData), d.failureReason);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
}

export interface QueueRowState {
  status: string;
  attempts: number;
  method: string;
  lastError: string;
}

/** Every queue row of `subscription`, by chaos id (the row's message data). */
async function queueRows(cluster: ChaosCluster, subscription: string): Promise<Map<string, QueueRowState>> {
  const rows = new Map<string, QueueRowState>();
  const node = await cluster.pick();
  let pageToken = "";
  do {
    const page = await node.clients.admin.listQueueItems(
      { subscription, pageSize: 1000, pageToken },
      { timeoutMs: 30_000 },
    );
    for (const item of page.queueItems) {
      rows.set(untext(item.data), {
        status: item.status,
        attempts: item.attemptCount,
        method: item.deliveryMethod,
        lastError: item.lastError.slice(0, 120),
      });
    }
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return rows;
}

/**
 * For ids still missing: an id whose ack call failed on the client (the instance died mid-call)
 * but whose queue row is `sent` was acked — the consumer's ack committed, only its reply was lost.
 * Resolves with the queue rows of the ids that stay missing, for the report.
 */
async function resolveUncertainAcks(
  cluster: ChaosCluster,
  ledger: DeliveryLedger,
  missing: readonly string[],
): Promise<Record<string, QueueRowState | "no queue row">> {
  if (missing.length === 0) return {};
  const rows = await queueRows(cluster, ledger.subscription);
  const unresolved: Record<string, QueueRowState | "no queue row"> = {};
  for (const id of missing) {
    const row = rows.get(id);
    if (row?.status === "sent" && ledger.uncertainAcks.has(id)) ledger.ackedUnconfirmed.add(id);
    else unresolved[id] = row ?? "no queue row";
  }
  return unresolved;
}

async function queueStats(cluster: ChaosCluster, subscription: string): Promise<QueueStats | string> {
  try {
    const node = await cluster.pick();
    const { stats } = await node.clients.admin.getSubscriptionStats(
      { name: subscription },
      { timeoutMs: 30_000 },
    );
    return {
      backlog: Number(stats?.backlog ?? 0),
      inFlight: Number(stats?.inFlight ?? 0),
      waitingForRetry: Number(stats?.waitingForRetry ?? 0),
      deadLettersUnresolved: Number(stats?.deadLettersUnresolved ?? 0),
    };
  } catch (error) {
    return `stats unavailable: ${String(error)}`;
  }
}

const missingOf = (ledger: DeliveryLedger, published: Iterable<string>) =>
  [...published].filter((id) => !ledger.isAccounted(id));

/**
 * Waits up to `timeoutMs` for every id of `published` to be accounted for in every ledger (reading
 * the dead-letter queues every 2 s while some are missing), then up to `settleTimeoutMs` for the
 * queues to settle, then audits.
 */
export async function drainAndAudit(
  cluster: ChaosCluster,
  published: ReadonlyMap<string, string>,
  ledgers: readonly DeliveryLedger[],
  timeoutMs: number,
  settleTimeoutMs: number,
): Promise<AuditResult> {
  const started = Date.now();
  let lastDlqReadMs = 0;
  for (;;) {
    const missing = ledgers.map((l) => missingOf(l, published.keys()).length);
    if (missing.every((n) => n === 0)) break;
    if (Date.now() - started > timeoutMs) break;
    if (Date.now() - lastDlqReadMs > 2_000) {
      lastDlqReadMs = Date.now();
      for (const [i, ledger] of ledgers.entries()) {
        if ((missing[i] ?? 0) === 0) continue;
        await readDeadLetters(cluster, ledger).catch(() => undefined);
        const uncertain = missingOf(ledger, published.keys()).filter((id) => ledger.uncertainAcks.has(id));
        if (uncertain.length > 0)
          await resolveUncertainAcks(cluster, ledger, uncertain).catch(() => undefined);
      }
      continue;
    }
    await sleep(250);
  }
  const drainMs = Date.now() - started;
  // Then wait for the queues to settle (nothing pending, leased or waiting for a retry), so that
  // redeliveries still to come (e.g. a push whose 2xx could not be recorded) count as duplicates.
  const settleStarted = Date.now();
  let settledMs: number | undefined;
  while (Date.now() - settleStarted <= settleTimeoutMs) {
    const stats = await Promise.all(ledgers.map((l) => queueStats(cluster, l.subscription)));
    const isSettled = stats.every(
      (s) => typeof s !== "string" && s.backlog === 0 && s.inFlight === 0 && s.waitingForRetry === 0,
    );
    if (isSettled) {
      settledMs = Date.now() - settleStarted;
      break;
    }
    await sleep(500);
  }
  const rows: AuditRow[] = [];
  for (const ledger of ledgers) {
    await readDeadLetters(cluster, ledger).catch(() => undefined);
    const lostRows = await resolveUncertainAcks(cluster, ledger, missingOf(ledger, published.keys())).catch(
      (error: unknown) => ({ "queue rows unavailable": String(error) }),
    );
    const lost = missingOf(ledger, published.keys());
    const reasons: Record<string, number> = {};
    for (const [id, reason] of ledger.dead)
      if (published.has(id)) reasons[reason] = (reasons[reason] ?? 0) + 1;
    rows.push({
      subscription: ledger.subscription,
      published: published.size,
      acked: [...published.keys()].filter((id) => ledger.acked.has(id)).length,
      deadLettered: [...published.keys()].filter((id) => ledger.dead.has(id)).length,
      deadLetterReasons: reasons,
      lost: lost.length,
      lostSample: lost.slice(0, 10),
      lostQueueRows: Object.fromEntries(Object.entries(lostRows).slice(0, 10)),
      ackedUnconfirmed: [...published.keys()].filter((id) => ledger.ackedUnconfirmed.has(id)).length,
      deliveries: [...ledger.receipts.values()].reduce((a, b) => a + b, 0),
      duplicateDeliveries: ledger.duplicateDeliveries(),
      redeliveredMessages: ledger.redeliveredMessages(),
      storedDuplicates: ledger.storedDuplicates().length,
      ackedAndDeadLettered: [...ledger.acked].filter((id) => ledger.dead.has(id)).length,
      invalidAcks: ledger.invalidAcks,
      nacks: ledger.nacks,
      secondAckInvalid: ledger.secondAckInvalid,
      ackCallsAbandoned: ledger.ackCallsAbandoned,
      exclusivityViolations: ledger.exclusivityViolationCount,
      exclusivitySample: ledger.exclusivityViolations,
      orderViolations: ledger.orderViolationCount,
      orderSample: ledger.orderViolations,
      queue: await queueStats(cluster, ledger.subscription),
    });
  }
  return {
    rows,
    drainMs,
    settledMs,
    lost: rows.reduce((n, r) => n + r.lost, 0),
    storedDuplicates: rows.reduce((n, r) => n + r.storedDuplicates, 0),
  };
}
