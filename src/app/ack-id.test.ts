import { describe, expect, it } from "vitest";
import { decodeAckId, encodeAckId } from "./ack-id.js";

describe("ack ids", () => {
  it("round-trips queue ids and tokens beyond 2^53", () => {
    const ref = { queueId: 9007199254740993n, leaseToken: 7n };
    expect(decodeAckId(encodeAckId(ref))).toEqual(ref);
  });

  it("rejects forged and malformed ids", () => {
    for (const forged of [
      "",
      "x",
      "!".repeat(22),
      "A".repeat(22),
      `${encodeAckId({ queueId: 1n, leaseToken: 1n })}=`,
    ]) {
      expect(decodeAckId(forged)).toBeUndefined();
    }
  });

  it("gives different ids to two deliveries of the same row", () => {
    expect(encodeAckId({ queueId: 5n, leaseToken: 1n })).not.toBe(
      encodeAckId({ queueId: 5n, leaseToken: 2n }),
    );
  });
});
