import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeAckId, encodeAckId, useAckIdKey } from "./ack-id.js";

describe("ack ids", () => {
  it("round-trips queue ids and tokens beyond 2^53", () => {
    const ref = { queueId: 9007199254740993n, leaseToken: 7n };
    expect(decodeAckId(encodeAckId(ref))).toEqual(ref);
  });

  it("rejects forged and malformed ids", () => {
    for (const forged of [
      "",
      "x",
      "!".repeat(43),
      "A".repeat(43),
      "A".repeat(22),
      `${encodeAckId({ queueId: 1n, leaseToken: 1n })}=`,
    ]) {
      expect(decodeAckId(forged)).toBeUndefined();
    }
  });

  it("refuses an id computed from a row id and lease token without the key (old format too)", () => {
    const body = Buffer.alloc(16);
    body.writeBigUInt64BE(5n, 0);
    body.writeBigUInt64BE(1n, 8);
    // The 16-byte ids of earlier versions, and the same bytes with a guessed tag.
    expect(decodeAckId(body.toString("base64url"))).toBeUndefined();
    expect(decodeAckId(Buffer.concat([body, Buffer.alloc(16)]).toString("base64url"))).toBeUndefined();
    const issued = Buffer.from(encodeAckId({ queueId: 5n, leaseToken: 1n }), "base64url");
    issued.writeBigUInt64BE(6n, 0); // someone else's row, the tag kept
    expect(decodeAckId(issued.toString("base64url"))).toBeUndefined();
  });

  it("accepts ids signed by the instance key, which every instance on a database shares", () => {
    const key = Buffer.alloc(32, 7);
    useAckIdKey(key);
    const id = encodeAckId({ queueId: 11n, leaseToken: 3n });
    const body = Buffer.from(id, "base64url").subarray(0, 16);
    const expected = createHmac("sha256", key).update(body).digest().subarray(0, 16);
    expect(Buffer.from(id, "base64url").subarray(16)).toEqual(expected);
    expect(decodeAckId(id)).toEqual({ queueId: 11n, leaseToken: 3n });
  });

  it("gives different ids to two deliveries of the same row", () => {
    expect(encodeAckId({ queueId: 5n, leaseToken: 1n })).not.toBe(
      encodeAckId({ queueId: 5n, leaseToken: 2n }),
    );
  });
});
