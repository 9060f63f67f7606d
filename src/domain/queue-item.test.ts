import { describe, expect, it } from "vitest";
import {
  ack,
  claim,
  decideFailure,
  deliveryAttempt,
  expire,
  fail,
  holdsLease,
  isExpired,
  type QueueItem,
  release,
} from "./queue-item.js";

const NOW = 1_700_000_000_000;
const POLICY = { maxDeliveryAttempts: 3, minBackoffMs: 1_000, maxBackoffMs: 8_000, retryScheduleMs: [] };
const noJitter = () => 0.5;

function item(fields: Partial<QueueItem> = {}): QueueItem {
  return {
    id: 7n,
    subscriptionId: 1n,
    messageId: 2n,
    status: "pending",
    attemptCount: 0,
    leaseToken: 0n,
    leaseExpiresAtMs: null,
    deliveryMethod: null,
    firstAttemptAtMs: null,
    lastAttemptAtMs: null,
    nextRetryAtMs: null,
    lastError: null,
    expiresAtMs: NOW + 86_400_000,
    sequenceNumber: 1n,
    createdAtMs: NOW - 1_000,
    updatedAtMs: NOW - 1_000,
    ...fields,
  };
}

const grant = { owner: "i1", method: "pull" as const, leaseExpiresAtMs: NOW + 10_000 };

describe("claim", () => {
  it("leases under the next token and starts the attempt now", () => {
    const leased = claim(item({ leaseToken: 4n }), grant, NOW);
    expect(leased).toMatchObject({
      status: "leased",
      leaseToken: 5n,
      leaseExpiresAtMs: NOW + 10_000,
      deliveryMethod: "pull",
      firstAttemptAtMs: NOW,
      lastAttemptAtMs: NOW,
      attemptCount: 0,
    });
    expect(holdsLease(leased, { queueId: 7n, leaseToken: 5n })).toBe(true);
    expect(holdsLease(leased, { queueId: 7n, leaseToken: 4n })).toBe(false);
  });

  it("keeps the first attempt time and numbers deliveries from 1", () => {
    const again = item({ status: "failed", attemptCount: 2, firstAttemptAtMs: NOW - 50 });
    expect(claim(again, grant, NOW).firstAttemptAtMs).toBe(NOW - 50);
    expect(deliveryAttempt(item())).toBe(1);
    expect(deliveryAttempt(again)).toBe(3);
  });
});

describe("ack", () => {
  it("makes the item sent, counts the attempt and clears the lease", () => {
    const sent = ack(claim(item(), grant, NOW), NOW + 5);
    expect(sent).toMatchObject({
      status: "sent",
      attemptCount: 1,
      leaseExpiresAtMs: null,
      nextRetryAtMs: null,
    });
    expect(holdsLease(sent, { queueId: 7n, leaseToken: 1n })).toBe(false);
  });
});

describe("release", () => {
  it("gives an unattempted item back as pending and an attempted one as failed, uncounted", () => {
    expect(release(claim(item(), grant, NOW), NOW)).toMatchObject({ status: "pending", attemptCount: 0 });
    const tried = claim(item({ status: "failed", attemptCount: 1 }), grant, NOW);
    expect(release(tried, NOW)).toMatchObject({ status: "failed", attemptCount: 1 });
  });
});

describe("decideFailure", () => {
  it("retries after exponential backoff from the attempt that failed", () => {
    expect(decideFailure(0, { kind: "backoff" }, POLICY, NOW, noJitter)).toEqual({
      outcome: "retry",
      nextRetryAtMs: NOW + 1_000,
    });
    expect(decideFailure(1, { kind: "backoff" }, POLICY, NOW, noJitter)).toEqual({
      outcome: "retry",
      nextRetryAtMs: NOW + 2_000,
    });
  });

  it("follows the retry schedule instead of exponential backoff when the policy has one", () => {
    const scheduled = { ...POLICY, maxDeliveryAttempts: 5, retryScheduleMs: [0, 5_000, 300_000] };
    const delays = [0, 1, 2, 3].map((attempts) => {
      const decision = decideFailure(attempts, { kind: "backoff" }, scheduled, NOW, noJitter);
      return decision.outcome === "retry" ? decision.nextRetryAtMs - NOW : -1;
    });
    expect(delays).toEqual([0, 5_000, 300_000, 300_000]);
    expect(decideFailure(4, { kind: "backoff" }, scheduled, NOW)).toEqual({
      outcome: "dead_letter",
      reason: "MAX_ATTEMPTS",
    });
  });

  it("honours the receiver's Retry-After and retries a vanished consumer at once", () => {
    expect(decideFailure(0, { kind: "backoff", retryAfterMs: 4_321 }, POLICY, NOW)).toEqual({
      outcome: "retry",
      nextRetryAtMs: NOW + 4_321,
    });
    expect(decideFailure(0, { kind: "immediate" }, POLICY, NOW)).toEqual({
      outcome: "retry",
      nextRetryAtMs: NOW,
    });
  });

  it("dead-letters after the last allowed attempt, whatever the kind", () => {
    for (const kind of [{ kind: "backoff" }, { kind: "immediate" }] as const) {
      expect(decideFailure(2, kind, POLICY, NOW)).toEqual({ outcome: "dead_letter", reason: "MAX_ATTEMPTS" });
    }
  });

  it("dead-letters GONE at once, with attempts left", () => {
    expect(decideFailure(0, { kind: "gone" }, POLICY, NOW)).toEqual({
      outcome: "dead_letter",
      reason: "GONE",
    });
  });

  it("dead-letters a rejected delivery at once as REJECTED, with attempts left", () => {
    expect(decideFailure(0, { kind: "rejected" }, POLICY, NOW)).toEqual({
      outcome: "dead_letter",
      reason: "REJECTED",
    });
  });
});

describe("fail", () => {
  it("counts the attempt, keeps the error and waits for the retry", () => {
    const leased = claim(item(), grant, NOW);
    const failed = fail(leased, "nack", { outcome: "retry", nextRetryAtMs: NOW + 1_000 }, NOW + 1);
    expect(failed).toMatchObject({
      status: "failed",
      attemptCount: 1,
      lastError: "nack",
      nextRetryAtMs: NOW + 1_000,
      leaseExpiresAtMs: null,
      firstAttemptAtMs: NOW,
      lastAttemptAtMs: NOW + 1,
    });
  });

  it("dead-letters with no retry time", () => {
    const leased = claim(item({ attemptCount: 2 }), grant, NOW);
    const dead = fail(leased, "500", { outcome: "dead_letter", reason: "MAX_ATTEMPTS" }, NOW);
    expect(dead).toMatchObject({ status: "dead_lettered", attemptCount: 3, nextRetryAtMs: null });
  });
});

describe("expire", () => {
  it("applies to waiting items from their expiry instant on, never to leased or finished ones", () => {
    const at = item().expiresAtMs;
    expect(isExpired(item(), at - 1)).toBe(false);
    expect(isExpired(item(), at)).toBe(true);
    expect(isExpired(item({ status: "failed" }), at)).toBe(true);
    for (const status of ["leased", "sent", "dead_lettered"] as const) {
      expect(isExpired(item({ status }), at)).toBe(false);
    }
  });

  it("dead-letters without counting an attempt and keeps the last error when there is one", () => {
    expect(expire(item(), NOW)).toMatchObject({
      status: "dead_lettered",
      attemptCount: 0,
      lastError: "expired before delivery",
    });
    expect(expire(item({ status: "failed", attemptCount: 1, lastError: "500" }), NOW).lastError).toBe("500");
  });
});
