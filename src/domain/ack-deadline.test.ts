import { describe, expect, it } from "vitest";
import { ACK_DEADLINE_SECONDS, validateAckDeadline, validateAckDeadlineExtension } from "./ack-deadline.js";
import { SUBSCRIPTION_DEFAULTS, SUBSCRIPTION_LIMITS } from "./subscription.js";

describe("ack deadline", () => {
  it.each([10, 30, 600])("accepts a deadline of %is", (seconds) => {
    expect(() => validateAckDeadline("f", seconds)).not.toThrow();
  });

  it.each([0, 9, 601, 10.5])("rejects a deadline of %ss, naming the field", (seconds) => {
    expect(() => validateAckDeadline("stream_ack_deadline_seconds", seconds)).toThrow(
      /stream_ack_deadline_seconds.*between 10 and 600/,
    );
  });

  it.each([0, 1, 600])("accepts an extension of %is (0 is a nack)", (seconds) => {
    expect(() => validateAckDeadlineExtension("f", seconds)).not.toThrow();
  });

  it.each([-1, 601, 1.5])("rejects an extension of %ss", (seconds) => {
    expect(() => validateAckDeadlineExtension("modify_deadline_seconds", seconds)).toThrow(
      /modify_deadline_seconds.*between 0 and 600/,
    );
  });

  it("is the subscription settings' rule", () => {
    expect(SUBSCRIPTION_LIMITS.ackDeadlineSeconds).toEqual({
      min: ACK_DEADLINE_SECONDS.min,
      max: ACK_DEADLINE_SECONDS.max,
    });
    expect(SUBSCRIPTION_DEFAULTS.ackDeadlineSeconds).toBe(ACK_DEADLINE_SECONDS.default);
  });
});
