import { describe, expect, it } from "vitest";
import { FakeClock } from "./clock.js";
import { DomainError } from "./domain-error.js";
import {
  DEFAULT_QUEUE_TTL_MS,
  isQueueStatus,
  newQueueItem,
  QueueErrorReason,
  QueueItem,
  type QueueItemState,
} from "./queue-item.js";

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

function setup(ttlMs?: number) {
  const clock = new FakeClock(T0);
  const item = newQueueItem({ subscriptionId: 7n, messageId: 42n, sequenceNumber: 3n, ttlMs }, clock);
  return { clock, item };
}

describe("newQueueItem", () => {
  it("creates a pending item with no attempts that is ready now", () => {
    const { item } = setup();
    expect(item.toState()).toEqual<QueueItemState>({
      id: 0n,
      subscriptionId: 7n,
      messageId: 42n,
      status: "pending",
      attemptCount: 0,
      lastAttemptAtMs: null,
      nextRetryAtMs: T0,
      lastError: null,
      expiresAtMs: T0 + DEFAULT_QUEUE_TTL_MS,
      sequenceNumber: 3n,
      operationTimestampMs: T0,
      completedAtMs: null,
      createdAtMs: T0,
      firstAttemptAtMs: null,
    });
  });

  it("defaults the time to live to 24 hours", () => {
    expect(DEFAULT_QUEUE_TTL_MS).toBe(86_400_000);
  });

  it("uses the given time to live for the expiry", () => {
    const { item } = setup(5 * MINUTE);
    expect(item.expiresAtMs).toBe(T0 + 5 * MINUTE);
  });

  it("rejects a negative time to live", () => {
    expect(() => setup(-1)).toThrow(DomainError);
  });
});

describe("canAttemptDelivery", () => {
  it("allows a fresh pending item", () => {
    const { item } = setup();
    expect(item.canAttemptDelivery(5)).toBeUndefined();
  });

  it("reports QUEUE_EXPIRED once the item has expired", () => {
    const { clock, item } = setup(MINUTE);
    clock.advanceMs(MINUTE + 1);
    const err = item.canAttemptDelivery(5);
    expect(err?.reason).toBe("QUEUE_EXPIRED");
    expect(err?.kind).toBe("failed_precondition");
    expect(err?.message).toBe("Queue item has expired");
  });

  it("checks expiry before the sent status", () => {
    const { clock, item } = setup(MINUTE);
    item.markSent();
    clock.advanceMs(2 * MINUTE);
    expect(item.canAttemptDelivery(5)?.reason).toBe(QueueErrorReason.expired);
  });

  it("reports ALREADY_SENT for a delivered item", () => {
    const { item } = setup();
    item.markSent();
    const err = item.canAttemptDelivery(5);
    expect(err?.reason).toBe("ALREADY_SENT");
    expect(err?.message).toBe("Queue item already sent");
  });

  it("checks the sent status before the attempt limit", () => {
    const { item } = setup();
    item.markSent();
    expect(item.canAttemptDelivery(1)?.reason).toBe("ALREADY_SENT");
  });

  it("reports MAX_ATTEMPTS when the attempt count has reached the limit", () => {
    const { clock, item } = setup();
    item.markFailed("boom", 0);
    item.markFailed("boom", 0);
    clock.advanceMs(1);
    const err = item.canAttemptDelivery(2);
    expect(err?.reason).toBe("MAX_ATTEMPTS");
    expect(err?.message).toBe("Maximum delivery attempts exceeded");
  });

  it("checks the attempt limit before the retry time", () => {
    const { item } = setup();
    item.markFailed("boom", MINUTE);
    expect(item.canAttemptDelivery(1)?.reason).toBe("MAX_ATTEMPTS");
  });

  it("reports NOT_READY for a failed item whose retry time is in the future", () => {
    const { item } = setup();
    item.markFailed("boom", MINUTE);
    const err = item.canAttemptDelivery(5);
    expect(err?.reason).toBe("NOT_READY");
    expect(err?.message).toBe("Not ready for retry yet");
  });

  it("allows a failed item exactly at its retry time", () => {
    const { clock, item } = setup();
    item.markFailed("boom", MINUTE);
    clock.advanceMs(MINUTE);
    expect(item.canAttemptDelivery(5)).toBeUndefined();
  });

  it("reports NO_RETRY for a failed item without a retry time", () => {
    const { item } = setup();
    item.markFailed("boom", 0);
    item.nextRetryAtMs = null;
    const err = item.canAttemptDelivery(5);
    expect(err?.reason).toBe("NO_RETRY");
    expect(err?.message).toBe("No retry scheduled");
  });

  it("does not apply the retry time to a pending item", () => {
    const { item } = setup();
    item.nextRetryAtMs = T0 + MINUTE;
    expect(item.canAttemptDelivery(5)).toBeUndefined();
  });
});

describe("markSent", () => {
  it("sets status sent, counts the attempt and stamps the completion time", () => {
    const { clock, item } = setup();
    clock.advanceMs(1000);
    expect(item.markSent()).toBe(true);
    expect(item.status).toBe("sent");
    expect(item.attemptCount).toBe(1);
    expect(item.completedAtMs).toBe(T0 + 1000);
    expect(item.lastAttemptAtMs).toBe(T0 + 1000);
    expect(item.operationTimestampMs).toBe(T0 + 1000);
  });

  it("clears the retry time so the item is never rescheduled", () => {
    const { item } = setup();
    item.markSent();
    expect(item.nextRetryAtMs).toBeNull();
  });

  it("ignores a second success report", () => {
    const { clock, item } = setup();
    item.markSent();
    clock.advanceMs(1000);
    expect(item.markSent()).toBe(false);
    expect(item.attemptCount).toBe(1);
    expect(item.completedAtMs).toBe(T0);
  });

  it("keeps the first attempt time recorded at attempt start", () => {
    const { clock, item } = setup();
    item.recordAttemptStart();
    clock.advanceMs(500);
    item.markSent();
    expect(item.firstAttemptAtMs).toBe(T0);
  });
});

describe("markFailed", () => {
  it("counts the attempt, keeps the error and schedules the retry", () => {
    const { clock, item } = setup();
    clock.advanceMs(1000);
    expect(item.markFailed("HTTP 503", 30_000)).toBe(true);
    expect(item.status).toBe("failed");
    expect(item.attemptCount).toBe(1);
    expect(item.lastError).toBe("HTTP 503");
    expect(item.lastAttemptAtMs).toBe(T0 + 1000);
    expect(item.nextRetryAtMs).toBe(T0 + 31_000);
  });

  it("records the first attempt time when no attempt start was recorded", () => {
    const { clock, item } = setup();
    clock.advanceMs(1000);
    item.markFailed("boom", 0);
    clock.advanceMs(1000);
    item.markFailed("boom", 0);
    expect(item.firstAttemptAtMs).toBe(T0 + 1000);
  });

  it("treats a negative delay as retry now", () => {
    const { item } = setup();
    item.markFailed("boom", -5);
    expect(item.nextRetryAtMs).toBe(T0);
  });

  it("never turns a sent item back into a retry", () => {
    const { item } = setup();
    item.markSent();
    expect(item.markFailed("late timeout", 1000)).toBe(false);
    expect(item.status).toBe("sent");
    expect(item.attemptCount).toBe(1);
    expect(item.lastError).toBeNull();
  });
});

describe("recordAttemptStart", () => {
  it("records timing without counting an attempt", () => {
    const { clock, item } = setup();
    clock.advanceMs(250);
    item.recordAttemptStart();
    expect(item.attemptCount).toBe(0);
    expect(item.lastAttemptAtMs).toBe(T0 + 250);
    expect(item.operationTimestampMs).toBe(T0 + 250);
    expect(item.firstAttemptAtMs).toBe(T0 + 250);
    expect(item.status).toBe("pending");
  });

  it("keeps the first attempt time on later attempts", () => {
    const { clock, item } = setup();
    item.recordAttemptStart();
    clock.advanceMs(250);
    item.recordAttemptStart();
    expect(item.firstAttemptAtMs).toBe(T0);
    expect(item.lastAttemptAtMs).toBe(T0 + 250);
  });
});

describe("shouldRetry", () => {
  it("is false for a pending item", () => {
    const { item } = setup();
    expect(item.shouldRetry()).toBe(false);
  });

  it("is false before the retry time", () => {
    const { clock, item } = setup();
    item.markFailed("boom", MINUTE);
    clock.advanceMs(MINUTE - 1);
    expect(item.shouldRetry()).toBe(false);
  });

  it("is true once the retry time has arrived", () => {
    const { clock, item } = setup();
    item.markFailed("boom", MINUTE);
    clock.advanceMs(MINUTE);
    expect(item.shouldRetry()).toBe(true);
  });

  it("is false for an expired item", () => {
    const { clock, item } = setup(MINUTE);
    item.markFailed("boom", 0);
    clock.advanceMs(MINUTE + 1);
    expect(item.shouldRetry()).toBe(false);
  });

  it("is false for a sent item", () => {
    const { item } = setup();
    item.markSent();
    expect(item.shouldRetry()).toBe(false);
  });
});

describe("shouldMoveToDlq", () => {
  it("moves the item to the DLQ after the fifth failed attempt", () => {
    const { item } = setup();
    for (let i = 0; i < 4; i++) item.markFailed("boom", 0);
    expect(item.shouldMoveToDlq(5)).toBe(false);
    item.markFailed("boom", 0);
    expect(item.shouldMoveToDlq(5)).toBe(true);
  });

  it("does not move a sent item even with many attempts", () => {
    const { item } = setup();
    for (let i = 0; i < 4; i++) item.markFailed("boom", 0);
    item.markSent();
    expect(item.shouldMoveToDlq(5)).toBe(false);
  });
});

describe("timing", () => {
  it("is not expired exactly at the expiry time", () => {
    const { clock, item } = setup(MINUTE);
    clock.advanceMs(MINUTE);
    expect(item.isExpired()).toBe(false);
  });

  it("is expired one millisecond after the expiry time", () => {
    const { clock, item } = setup(MINUTE);
    clock.advanceMs(MINUTE + 1);
    expect(item.isExpired()).toBe(true);
  });

  it("reports its age since creation", () => {
    const { clock, item } = setup();
    clock.advanceMs(1234);
    expect(item.getAgeMs()).toBe(1234);
  });

  it("reports a negative time until expiry once expired", () => {
    const { clock, item } = setup(MINUTE);
    clock.advanceMs(MINUTE + 10);
    expect(item.getTimeUntilExpiryMs()).toBe(-10);
  });

  it("reports the time until the next retry", () => {
    const { clock, item } = setup();
    item.markFailed("boom", MINUTE);
    clock.advanceMs(10_000);
    expect(item.getTimeUntilRetryMs()).toBe(MINUTE - 10_000);
  });

  it("reports zero time until retry when the retry is overdue", () => {
    const { clock, item } = setup();
    item.markFailed("boom", MINUTE);
    clock.advanceMs(2 * MINUTE);
    expect(item.getTimeUntilRetryMs()).toBe(0);
  });

  it("throws NO_RETRY for the time until retry of a sent item", () => {
    const { item } = setup();
    item.markSent();
    expect(() => item.getTimeUntilRetryMs()).toThrow(expect.objectContaining({ reason: "NO_RETRY" }));
  });
});

describe("state", () => {
  it("round-trips through toState and the constructor", () => {
    const { clock, item } = setup();
    item.markFailed("boom", 1000);
    const copy = new QueueItem(item.toState(), clock);
    expect(copy.toState()).toEqual(item.toState());
  });

  it("does not expose the clock when spread", () => {
    const { item } = setup();
    expect(Object.keys({ ...item })).not.toContain("clock");
    expect(Object.keys({ ...item })).toHaveLength(14);
  });

  it("completes through the deprecated setComplete like markSent", () => {
    const { item } = setup();
    item.setComplete();
    expect(item.status).toBe("sent");
    expect(item.completedAtMs).toBe(T0);
  });

  it("recognises the queue statuses", () => {
    expect(["pending", "sent", "failed", "done"].map(isQueueStatus)).toEqual([true, true, true, false]);
  });
});
