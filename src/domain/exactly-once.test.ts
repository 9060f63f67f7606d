import { describe, expect, it } from "vitest";
import { DomainError } from "./domain-error.js";
import { splitAckResults, validateExactlyOnceDelivery } from "./exactly-once.js";

describe("exactly-once delivery", () => {
  it("refuses exactly-once on a push subscription, naming the field", () => {
    let error: unknown;
    try {
      validateExactlyOnceDelivery("push", true);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).kind).toBe("invalid_argument");
    expect((error as DomainError).field).toBe("enable_exactly_once_delivery");
  });

  it("allows exactly-once on a pull subscription and push without it", () => {
    expect(() => validateExactlyOnceDelivery("pull", true)).not.toThrow();
    expect(() => validateExactlyOnceDelivery("push", false)).not.toThrow();
  });

  it("splits a call's ack ids into confirmed and invalid, each once, in request order", () => {
    expect(splitAckResults(["a", "b", "a", "c", "b"], ["b"])).toEqual({
      confirmed: ["a", "c"],
      invalid: ["b"],
    });
  });
});
