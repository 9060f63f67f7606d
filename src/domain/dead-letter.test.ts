import { describe, expect, it } from "vitest";
import { FakeClock } from "./clock.js";
import {
  DeadLetter,
  FAILURE_REASONS,
  isFailureReason,
  type NewDeadLetterInput,
  newDeadLetter,
  newDeadLetterFromQueueItem,
} from "./dead-letter.js";
import { DomainError } from "./domain-error.js";
import { newQueueItem } from "./queue-item.js";

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

const input: NewDeadLetterInput = {
  subscriptionId: 7n,
  messageId: 42n,
  originalQueueId: 99n,
  attemptCount: 5,
  lastError: "HTTP 503",
  failureReason: "MAX_ATTEMPTS",
  firstAttemptAtMs: T0 - 10_000,
  lastAttemptAtMs: T0 - 1000,
  messageData: new Uint8Array([1, 2, 3]),
  callbackUrl: "https://example.test/hook",
};

function setup() {
  const clock = new FakeClock(T0);
  return { clock, dead: newDeadLetter(input, clock) };
}

describe("newDeadLetter", () => {
  it("creates an unresolved entry moved now", () => {
    const { dead } = setup();
    expect(dead.toState()).toEqual({
      ...input,
      id: 0n,
      lastHttpStatus: null,
      movedToDlqAtMs: T0,
      isResolved: false,
      resolvedAtMs: null,
      resolvedBy: null,
      resolutionNote: null,
      createdAtMs: T0,
    });
  });

  it("keeps the last HTTP status when given", () => {
    const clock = new FakeClock(T0);
    expect(newDeadLetter({ ...input, lastHttpStatus: 410 }, clock).lastHttpStatus).toBe(410);
  });
});

describe("newDeadLetterFromQueueItem", () => {
  it("copies the ids, attempts, error and attempt times of the failed item", () => {
    const clock = new FakeClock(T0);
    const item = newQueueItem({ subscriptionId: 7n, messageId: 42n, sequenceNumber: 1n }, clock);
    item.id = 99n;
    item.recordAttemptStart();
    clock.advanceMs(1000);
    item.markFailed("HTTP 500", 0);
    const dead = newDeadLetterFromQueueItem(
      item,
      {
        failureReason: "MAX_ATTEMPTS",
        messageData: new Uint8Array([9]),
        callbackUrl: null,
        lastHttpStatus: 500,
      },
      clock,
    );
    expect(dead).toMatchObject({
      subscriptionId: 7n,
      messageId: 42n,
      originalQueueId: 99n,
      attemptCount: 1,
      lastError: "HTTP 500",
      firstAttemptAtMs: T0,
      lastAttemptAtMs: T0 + 1000,
      movedToDlqAtMs: T0 + 1000,
      lastHttpStatus: 500,
      callbackUrl: null,
    });
  });
});

describe("resolve", () => {
  it("records who resolved the item, when and why", () => {
    const { clock, dead } = setup();
    clock.advanceMs(5000);
    expect(dead.resolve("alice", "replayed after fixing the endpoint")).toBe(true);
    expect(dead.isResolved).toBe(true);
    expect(dead.resolvedAtMs).toBe(T0 + 5000);
    expect(dead.resolvedBy).toBe("alice");
    expect(dead.resolutionNote).toBe("replayed after fixing the endpoint");
  });

  it("keeps the first resolution when resolved twice", () => {
    const { clock, dead } = setup();
    dead.resolve("alice", "first");
    clock.advanceMs(1000);
    expect(dead.resolve("bob", "second")).toBe(false);
    expect(dead.resolvedBy).toBe("alice");
    expect(dead.resolvedAtMs).toBe(T0);
  });

  it("requires the resolver's name", () => {
    const { dead } = setup();
    expect(() => dead.resolve("  ", "note")).toThrow(DomainError);
    expect(dead.isResolved).toBe(false);
  });
});

describe("age", () => {
  it("reports the time since the item was moved to the DLQ", () => {
    const { clock, dead } = setup();
    clock.advanceMs(2 * HOUR);
    expect(dead.getAgeMs()).toBe(2 * HOUR);
  });

  it("is old once older than the threshold", () => {
    const { clock, dead } = setup();
    clock.advanceMs(HOUR + 1);
    expect(dead.isOld(HOUR)).toBe(true);
  });

  it("is not old exactly at the threshold", () => {
    const { clock, dead } = setup();
    clock.advanceMs(HOUR);
    expect(dead.isOld(HOUR)).toBe(false);
  });
});

describe("state and reasons", () => {
  it("round-trips through toState and the constructor", () => {
    const { clock, dead } = setup();
    expect(new DeadLetter(dead.toState(), clock).toState()).toEqual(dead.toState());
  });

  it("lists the four failure reasons", () => {
    expect(FAILURE_REASONS).toEqual(["MAX_ATTEMPTS", "EXPIRED", "GONE", "SUBSCRIPTION_DELETED"]);
  });

  it("recognises failure reasons and rejects others", () => {
    expect(isFailureReason("GONE")).toBe(true);
    expect(isFailureReason("gone")).toBe(false);
  });
});
