/**
 * Hand-made bytes for hostile-input tests: gRPC / Connect-streaming envelopes (flags byte plus a
 * 4-byte big-endian length that may lie) and raw protobuf wire fragments (tags, varints, lengths),
 * so a test can produce exactly the malformed input it wants.
 */

export interface EnvelopeOptions {
  /** Flags byte. Default 0; 1 is "compressed", 2 is Connect's end-of-stream. */
  flags?: number;
  /** The length written in the prefix; default the real payload length. */
  declaredLength?: number;
}

/** A length-prefixed message: flags (1 byte), length (uint32 BE), payload. */
export function envelope(payload: Uint8Array, options: EnvelopeOptions = {}): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, options.flags ?? 0);
  view.setUint32(1, options.declaredLength ?? payload.length, false);
  out.set(payload, 5);
  return out;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Base-128 varint of a non-negative bigint (negative int64 values: pass their two's complement). */
export function varint(value: bigint | number): Uint8Array {
  let v = BigInt(value);
  if (v < 0n) v = BigInt.asUintN(64, v);
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Uint8Array.from(bytes);
}

/** Protobuf wire types. */
export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
} as const;

/** A field tag: (field number << 3) | wire type; any wire type 0..7 may be forced. */
export function tag(fieldNumber: number, wireType: number): Uint8Array {
  return varint((BigInt(fieldNumber) << 3n) | BigInt(wireType));
}

/** A length-delimited field: tag, length (which may lie), bytes. */
export function lengthDelimited(fieldNumber: number, bytes: Uint8Array, declaredLength?: number): Uint8Array {
  return concatBytes(
    tag(fieldNumber, WireType.lengthDelimited),
    varint(declaredLength ?? bytes.length),
    bytes,
  );
}

export function varintField(fieldNumber: number, value: bigint | number): Uint8Array {
  return concatBytes(tag(fieldNumber, WireType.varint), varint(value));
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
