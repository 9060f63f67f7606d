import { describe, expect, it } from "vitest";
import { DataMessage, decodeBase64, encodeBase64, newDataMessage } from "./data-message.js";
import { DomainError } from "./domain-error.js";

const T0 = Date.UTC(2026, 0, 1);
const bytes = (...values: number[]) => new Uint8Array(values);

function message(data: Uint8Array | string = "hello") {
  return newDataMessage({ messageId: "m-1", publishTimeMs: T0, identifier: "user-123", data });
}

/** Deterministic byte source (xorshift), so the cross-check below covers many inputs without flakiness. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe("newDataMessage", () => {
  it("keeps the id, publish time and identifier, with no ordering key or attributes by default", () => {
    const m = message();
    expect(m).toMatchObject({
      messageId: "m-1",
      publishTimeMs: T0,
      identifier: "user-123",
      orderingKey: "",
      attributes: {},
    });
  });

  it("stores a string payload as its UTF-8 bytes", () => {
    expect(message("é").data).toEqual(bytes(0xc3, 0xa9));
  });

  it("copies the attributes", () => {
    const attributes = { a: "1" };
    const m = newDataMessage({ messageId: "m", publishTimeMs: T0, identifier: "", data: "", attributes });
    attributes.a = "2";
    expect(m.attributes).toEqual({ a: "1" });
  });
});

describe("toBase64", () => {
  it.each([
    ["", ""],
    ["f", "Zg=="],
    ["fo", "Zm8="],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg=="],
    ["fooba", "Zm9vYmE="],
    ["foobar", "Zm9vYmFy"],
  ])("encodes the RFC 4648 vector %j as %j", (text, encoded) => {
    expect(message(text).toBase64()).toBe(encoded);
  });

  it("uses + and / for the high sextets", () => {
    expect(message(bytes(0xfb, 0xff, 0xbf)).toBase64()).toBe("+/+/");
  });

  it("agrees with Node's encoder for every length up to 64", () => {
    for (let length = 0; length <= 64; length++) {
      const data = pseudoRandomBytes(length, length + 1);
      expect(encodeBase64(data)).toBe(Buffer.from(data).toString("base64"));
    }
  });
});

describe("toString", () => {
  it("decodes the payload as UTF-8", () => {
    expect(message("héllo 😀").toString()).toBe("héllo 😀");
  });

  it("replaces invalid UTF-8 with U+FFFD", () => {
    expect(message(bytes(0x61, 0xff)).toString()).toBe("a\ufffd");
  });
});

describe("fromString", () => {
  it("replaces the payload with the UTF-8 bytes of the text", () => {
    const m = message(bytes(1, 2, 3));
    m.fromString("日本");
    expect(m.data).toEqual(bytes(0xe6, 0x97, 0xa5, 0xe6, 0x9c, 0xac));
  });
});

describe("fromBase64", () => {
  it("replaces the payload with the decoded bytes", () => {
    const m = message();
    m.fromBase64("Zm9vYmE=");
    expect(m.toString()).toBe("fooba");
  });

  it("decodes the empty string to an empty payload", () => {
    const m = message();
    m.fromBase64("");
    expect(m.data).toEqual(new Uint8Array(0));
  });

  it("round-trips every length up to 64 through encode and decode", () => {
    for (let length = 0; length <= 64; length++) {
      const data = pseudoRandomBytes(length, 1000 + length);
      expect(decodeBase64(encodeBase64(data))).toEqual(data);
    }
  });

  it.each([
    ["Zm9", "length"],
    ["Zm9vY", "length"],
    ["Zg", "length"],
    ["Zm9v\n", "length"],
    ["Zm 9", "character"],
    ["Zm9-", "character"],
    ["Zm9_", "character"],
    ["Z=9v", "character"],
    ["Zg=a", "character"],
    ["Z===", "character"],
    ["====", "character"],
    ["Zm9é", "character"],
    ["Zh==", "padding bits"],
    ["Zm9=", "padding bits"],
  ])("rejects %j (%s)", (text, problem) => {
    const m = message("kept");
    let caught: unknown;
    try {
      m.fromBase64(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect((caught as DomainError).kind).toBe("invalid_argument");
    expect((caught as DomainError).field).toBe("data");
    expect((caught as DomainError).message).toContain(
      problem === "character" ? "invalid base64 character" : problem,
    );
    expect(m.toString()).toBe("kept");
  });

  it("names the given field when decoding directly", () => {
    expect(() => decodeBase64("!", "payload")).toThrow(expect.objectContaining({ field: "payload" }));
  });
});

describe("DataMessage", () => {
  it("can be constructed directly like newDataMessage", () => {
    const m = new DataMessage({
      messageId: "x",
      publishTimeMs: 1,
      identifier: "i",
      data: "d",
      orderingKey: "k",
    });
    expect(m.orderingKey).toBe("k");
  });
});
