import type { Clock } from "../../domain/clock.js";
import type { OperationalEvent } from "../../domain/operational-event.js";
import type { PushVerdict } from "../../domain/push-outcome.js";
import { leaseKey, type QueueItem } from "../../domain/queue-item.js";
import type { Subscription } from "../../domain/subscription.js";
import type { AckRef } from "../consume/ack-id.js";
import { type AttemptFailure, recordFailedAttempts } from "../consume/attempt-failures.js";
import { lockCurrentLeases } from "../consume/current-leases.js";
import { IGNORE_EVENTS, type OperationalEventSink } from "../events/operational-events.js";
import { DeliveryTally, ignoreQueueEvents, type QueueObserver } from "../ports/queue-observer.js";
import type { Store } from "../ports/store.js";

const HEALTH_HEARTBEAT_MS = 5_000;

/** The result of one push attempt, as the pusher saw it. */
export interface PushOutcome {
  ref: AckRef;
  verdict: PushVerdict;
  httpStatus: number | null;
  /** Response snippet or connection error; empty on success. */
  detail: string;
  durationMs: number;
  /** Not pushed at all (its lease had too little time left): given back without counting an attempt. */
  givenBack?: true;
}

/**
 * Records a batch of push outcomes of one subscription in one transaction: acks become `sent`,
 * failures retry after the backoff (or the receiver's Retry-After) or dead-letter after the last
 * attempt, 410 Gone dead-letters at once and pauses the subscription, and a subscription failing
 * with no success for `pauseAfterFailingMs` is paused. Outcomes of deliveries whose lease was
 * lost (expired and redelivered) are ignored: outcomes are matched by (row, lease token), so only
 * the current delivery decides, and every write is fenced by the lease token in SQL.
 * Returns the pause reason when the subscription was paused.
 */
export class PushSettlement {
  /** What this instance last wrote of each subscription's push health. */
  private readonly health = new Map<bigint, { failingSinceMs: number | null; successWrittenAtMs: number }>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly pauseAfterFailingMs: number,
    private readonly random: () => number = Math.random,
    private readonly observer: QueueObserver = ignoreQueueEvents,
    private readonly events: OperationalEventSink = IGNORE_EVENTS,
    /** Unresolved dead letters of one subscription that raise a `dead_letters.threshold` event; 0 = never. */
    private readonly deadLetterThreshold = 0,
  ) {}

  async settle(subscription: Subscription, outcomes: readonly PushOutcome[]): Promise<string | null> {
    if (outcomes.length === 0) return null;
    const events: OperationalEvent[] = [];
    const { paused, tally } = await this.store.transaction(async (repos) => {
      events.length = 0; // a retried transaction starts over
      const event = (type: OperationalEvent["type"], data: OperationalEvent["data"]) =>
        events.push({
          type,
          atMs: nowMs,
          subscription: subscription.name,
          topic: subscription.topicCode,
          data,
        });
      const tally = new DeliveryTally();
      const nowMs = this.clock.nowMs();
      // Matched by (row, token): a stale outcome (its lease expired and the row was redelivered)
      // settling beside the current one must not decide for it.
      const current = new Map(
        (
          await lockCurrentLeases(
            repos,
            subscription.id,
            outcomes.map((o) => o.ref),
          )
        ).map((r) => [leaseKey({ queueId: r.id, leaseToken: r.leaseToken }), r]),
      );
      const decided = new Map<string, { outcome: PushOutcome; record: QueueItem }>();
      for (const o of outcomes) {
        const key = leaseKey(o.ref);
        const record = current.get(key);
        if (record && !decided.has(key)) decided.set(key, { outcome: o, record });
      }
      const givenBack = [...decided.values()].filter((d) => d.outcome.givenBack);
      await repos.deliveries.releaseIfLeased(
        givenBack.map((d) => d.outcome.ref),
        nowMs,
      );
      const ackCandidates = [...decided.values()].filter((d) => d.outcome.verdict.kind === "ack");
      const failures: AttemptFailure[] = [];
      for (const { outcome: o, record } of decided.values()) {
        if (o.verdict.kind === "ack" || o.givenBack) continue;
        failures.push({
          item: record,
          error: o.detail,
          kind:
            o.verdict.kind === "gone" ? o.verdict : { kind: "backoff", retryAfterMs: o.verdict.retryAfterMs },
          httpStatus: o.httpStatus,
          durationMs: o.durationMs,
        });
      }
      const sent = new Set(
        await repos.deliveries.markSentIfLeased(
          ackCandidates.map((d) => d.outcome.ref),
          nowMs,
        ),
      );
      const acked = ackCandidates.filter((d) => sent.has(d.record.id));
      await repos.notificationLogs.insertForQueueItems(
        acked.map(({ outcome: o }) => ({
          queueId: o.ref.queueId,
          status: "sent" as const,
          httpStatus: o.httpStatus,
          durationMs: o.durationMs,
        })),
        { topicCode: subscription.topicCode, defaultMethod: "webhook" },
        nowMs,
      );
      for (const { record } of acked) tally.acked("webhook", nowMs - record.createdAtMs);
      const failed = await recordFailedAttempts(repos, subscription, failures, this.clock, this.random);
      tally.add(failed);
      const deadLettered = failed.countOf("dead_lettered");
      if (this.deadLetterThreshold > 0 && deadLettered > 0) {
        const unresolved = await repos.deadLetters.countUnresolved(subscription.id);
        // Once per crossing: the batch took the count from below the threshold to at or above it.
        if (unresolved >= this.deadLetterThreshold && unresolved - deadLettered < this.deadLetterThreshold) {
          event("dead_letters.threshold", { threshold: this.deadLetterThreshold, unresolved });
        }
      }

      if (acked.length === 0 && failures.length === 0) return { paused: null, tally };
      // Health is written on changes only (a failing run starts or ends), plus a success heartbeat
      // at most every few seconds, so the common all-good batch costs no extra statement.
      const succeeded = acked.length > 0;
      const known = this.health.get(subscription.id) ?? {
        failingSinceMs: subscription.pushFailingSinceMs,
        successWrittenAtMs: subscription.lastPushSuccessAtMs ?? 0,
      };
      let failingSince = known.failingSinceMs;
      const changes = succeeded ? failingSince !== null : failingSince === null;
      if (changes || (succeeded && nowMs - known.successWrittenAtMs > HEALTH_HEARTBEAT_MS)) {
        const before = failingSince;
        failingSince = await repos.subscriptions.recordPushHealth(subscription.id, succeeded, nowMs);
        if (succeeded) known.successWrittenAtMs = nowMs;
        if (succeeded && before !== null) {
          event("endpoint.recovered", {
            endpoint: subscription.callbackUrl,
            failingSince: new Date(before).toISOString(),
            failedForSeconds: Math.round((nowMs - before) / 1000),
          });
        } else if (!succeeded && failingSince === nowMs) {
          // This write started the failing run (another instance may have started it first).
          const first = failures[0];
          event("endpoint.failing", {
            endpoint: subscription.callbackUrl,
            lastError: (first?.error ?? "").slice(0, 200),
            httpStatus: first?.httpStatus ?? null,
          });
        }
      }
      known.failingSinceMs = failingSince;
      this.health.set(subscription.id, known);
      let reason: string | null = null;
      if (failures.some((f) => f.kind.kind === "gone")) {
        reason = "the endpoint answered 410 Gone";
      } else if (failingSince !== null && nowMs - failingSince >= this.pauseAfterFailingMs) {
        reason = `every push failed since ${new Date(failingSince).toISOString()}`;
      }
      if (reason !== null && (await repos.subscriptions.pause(subscription.id, reason, nowMs))) {
        event("subscription.paused", {
          reason,
          failingSince: failingSince === null ? null : new Date(failingSince).toISOString(),
        });
        return { paused: reason, tally };
      }
      return { paused: null, tally };
    });
    tally.reportTo(this.observer);
    // After the commit: an event names only what was stored.
    for (const e of events) this.events.emit(e);
    return paused;
  }
}
