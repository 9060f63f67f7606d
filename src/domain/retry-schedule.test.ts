import { describe, expect, it } from "vitest";
import { DomainError } from "./domain-error.js";
import {
  changeRetrySettings,
  chooseRetrySettings,
  DEFAULT_PUSH_RETRY_SCHEDULE_MS,
  effectiveRetryDelaysMs,
  LONG_SCHEDULE_MESSAGE_TTL_MS,
  retryAfterBounds,
  scheduledDelayMs,
  validateRetrySchedule,
} from "./retry-schedule.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const noJitter = () => 0.5;

describe("the default push retry schedule", () => {
  it("spans at least 24 hours and starts with an immediate retry", () => {
    const totalMs = DEFAULT_PUSH_RETRY_SCHEDULE_MS.reduce((sum, ms) => sum + ms, 0);
    expect(totalMs).toBeGreaterThanOrEqual(DAY_MS);
    expect(DEFAULT_PUSH_RETRY_SCHEDULE_MS[0]).toBe(0);
  });

  it("survives a receiver that is down for ten minutes: four retries fit before the fifth attempt", () => {
    const beforeFifthMs = DEFAULT_PUSH_RETRY_SCHEDULE_MS.slice(0, 4).reduce((sum, ms) => sum + ms, 0);
    expect(beforeFifthMs).toBeGreaterThan(10 * 60 * 1000);
  });
});

describe("chooseRetrySettings", () => {
  it("gives a PUSH subscription without a retry policy the default schedule, attempts and a longer TTL", () => {
    expect(chooseRetrySettings("push", {}, DAY_MS)).toEqual({
      retryScheduleMs: [...DEFAULT_PUSH_RETRY_SCHEDULE_MS],
      maxDeliveryAttempts: DEFAULT_PUSH_RETRY_SCHEDULE_MS.length + 1,
      messageTtlMs: LONG_SCHEDULE_MESSAGE_TTL_MS,
    });
  });

  it("keeps exponential backoff for PULL and for PUSH given backoff bounds", () => {
    expect(chooseRetrySettings("pull", {}, DAY_MS)).toEqual({ retryScheduleMs: [] });
    expect(chooseRetrySettings("push", { minBackoffMs: 1000 }, DAY_MS)).toEqual({ retryScheduleMs: [] });
  });

  it("lets max_delivery_attempts follow a given schedule unless it is given too", () => {
    expect(chooseRetrySettings("pull", { retryScheduleMs: [1000, 2000] }, DAY_MS)).toEqual({
      retryScheduleMs: [1000, 2000],
      maxDeliveryAttempts: 3,
    });
    expect(
      chooseRetrySettings("push", { retryScheduleMs: [1000], maxDeliveryAttempts: 7 }, DAY_MS),
    ).toMatchObject({ maxDeliveryAttempts: 7 });
  });

  it("keeps a given TTL even when the schedule is longer", () => {
    expect(chooseRetrySettings("push", { messageTtlMs: 60_000 }, DAY_MS).messageTtlMs).toBeUndefined();
  });
});

describe("changeRetrySettings", () => {
  it("replaces the schedule, switches to exponential on new bounds, and leaves it alone otherwise", () => {
    expect(changeRetrySettings({ retryScheduleMs: [5] })).toEqual({
      retryScheduleMs: [5],
      maxDeliveryAttempts: 2,
    });
    expect(changeRetrySettings({ maxBackoffMs: 5 })).toEqual({ retryScheduleMs: [] });
    expect(changeRetrySettings({ maxDeliveryAttempts: 5 })).toEqual({});
  });
});

describe("scheduledDelayMs", () => {
  it("takes the entry of the failed attempt and repeats the last one", () => {
    const delays = [1, 2, 3, 4].map((attempt) => scheduledDelayMs([0, 1000, 5000], attempt, noJitter));
    expect(delays).toEqual([0, 1000, 5000, 5000]);
  });

  it("adds at most ±20 % jitter", () => {
    expect(scheduledDelayMs([1000], 1, () => 0)).toBe(800);
    expect(scheduledDelayMs([1000], 1, () => 0.999_999)).toBe(1200);
  });
});

describe("validateRetrySchedule", () => {
  it("rejects negative, fractional and over-long delays, naming the field", () => {
    for (const bad of [[-1], [1.5], [DAY_MS + 1], new Array(100).fill(1)]) {
      expect(() => validateRetrySchedule("retry_schedule", bad)).toThrow(DomainError);
    }
    expect(() => validateRetrySchedule("retry_schedule", [0, DAY_MS])).not.toThrow();
  });
});

describe("effectiveRetryDelaysMs and retryAfterBounds", () => {
  it("lists the nominal delay of every retry, for a schedule and for exponential backoff", () => {
    expect(
      effectiveRetryDelaysMs({
        retryScheduleMs: [0, 10],
        minBackoffMs: 0,
        maxBackoffMs: 0,
        maxDeliveryAttempts: 4,
      }),
    ).toEqual([0, 10, 10]);
    expect(
      effectiveRetryDelaysMs({
        retryScheduleMs: [],
        minBackoffMs: 100,
        maxBackoffMs: 300,
        maxDeliveryAttempts: 4,
      }),
    ).toEqual([100, 200, 300]);
  });

  it("clamps Retry-After to the schedule's shortest and longest delay", () => {
    expect(retryAfterBounds({ retryScheduleMs: [0, 10, 5], minBackoffMs: 1, maxBackoffMs: 2 })).toEqual({
      minBackoffMs: 0,
      maxBackoffMs: 10,
    });
  });
});
