import { describe, expect, it } from "vitest";
import { FakeClock } from "./clock.js";
import {
  DELIVERY_METHODS,
  isDeliveryMethod,
  isNotificationStatus,
  isSubscriberType,
  type NewNotificationLogInput,
  NOTIFICATION_STATUSES,
  newNotificationLog,
  SUBSCRIBER_TYPES,
} from "./notification-log.js";

const T0 = Date.UTC(2026, 0, 1);

const base: NewNotificationLogInput = {
  subscriptionId: 7n,
  messageId: 42n,
  identifier: "user-123",
  topicCode: "user.created",
  subscriberType: "service",
  subscriberId: 3n,
  deliveryMethod: "webhook",
  status: "pending",
};

function create(overrides: Partial<NewNotificationLogInput>) {
  return newNotificationLog({ ...base, ...overrides }, new FakeClock(T0));
}

describe("newNotificationLog", () => {
  it("creates a pending entry with optional fields null", () => {
    expect(create({})).toEqual({
      ...base,
      id: 0n,
      queueItemId: null,
      skippedReason: null,
      httpStatus: null,
      durationMs: null,
      error: null,
      sentAtMs: null,
      createdAtMs: T0,
    });
  });

  it("stamps sentAtMs for a sent entry", () => {
    expect(create({ status: "sent", httpStatus: 204, durationMs: 12 }).sentAtMs).toBe(T0);
  });

  it("leaves sentAtMs null for a failed entry", () => {
    expect(create({ status: "failed", error: "timeout" }).sentAtMs).toBeNull();
  });

  it("keeps the queue item id, HTTP status, duration and error", () => {
    const log = create({
      status: "failed",
      queueItemId: 9n,
      httpStatus: 503,
      durationMs: 250,
      error: "HTTP 503",
    });
    expect(log).toMatchObject({ queueItemId: 9n, httpStatus: 503, durationMs: 250, error: "HTTP 503" });
  });

  it("accepts a skipped entry with a reason", () => {
    expect(create({ status: "skipped", skippedReason: "subscriber inactive" }).skippedReason).toBe(
      "subscriber inactive",
    );
  });

  it("rejects a skipped entry without a reason", () => {
    expect(() => create({ status: "skipped" })).toThrow(
      "skipped_reason: is required when the status is skipped",
    );
  });

  it("rejects a skipped entry with a blank reason", () => {
    expect(() => create({ status: "skipped", skippedReason: " " })).toThrow(/skipped_reason/);
  });

  it("rejects a skipped reason on an entry that was not skipped", () => {
    expect(() => create({ status: "sent", skippedReason: "why" })).toThrow(
      "skipped_reason: is only allowed when the status is skipped",
    );
  });

  it("rejects an HTTP status outside 100..599", () => {
    expect(() => create({ httpStatus: 42 })).toThrow(/http_status/);
  });

  it("rejects a negative duration", () => {
    expect(() => create({ durationMs: -1 })).toThrow(/duration_ms/);
  });

  it("rejects an unknown delivery method coming from untyped input", () => {
    expect(() => create({ deliveryMethod: "email" as never })).toThrow(/delivery_method/);
  });

  it("rejects an unknown status coming from untyped input", () => {
    expect(() => create({ status: "done" as never })).toThrow(/status/);
  });

  it("rejects an unknown subscriber type coming from untyped input", () => {
    expect(() => create({ subscriberType: "robot" as never })).toThrow(/subscriber_type/);
  });
});

describe("allowed values", () => {
  it("lists the subscriber types, delivery methods and statuses", () => {
    expect(SUBSCRIBER_TYPES).toEqual(["client", "service"]);
    expect(DELIVERY_METHODS).toEqual(["webhook", "grpc", "pull"]);
    expect(NOTIFICATION_STATUSES).toEqual(["pending", "sent", "failed", "skipped"]);
  });

  it("recognises each listed value and rejects others", () => {
    expect(SUBSCRIBER_TYPES.every(isSubscriberType)).toBe(true);
    expect(DELIVERY_METHODS.every(isDeliveryMethod)).toBe(true);
    expect(NOTIFICATION_STATUSES.every(isNotificationStatus)).toBe(true);
    expect([isSubscriberType("Client"), isDeliveryMethod("email"), isNotificationStatus("")]).toEqual([
      false,
      false,
      false,
    ]);
  });
});
