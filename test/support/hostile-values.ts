/**
 * What to throw at a request field, by the field's proto type, as Connect JSON values. Each value has
 * a short stable name (it becomes part of the case id). Values that protobuf JSON cannot represent
 * (wrong types, int64 overflow) are expected to fail parsing with INVALID_ARGUMENT; the rest reach
 * Herald and are also sent as protobuf over gRPC.
 */
import type { JsonValue } from "@bufbuild/protobuf";

export interface HostileValue {
  name: string;
  /** The JSON value to put in the field. */
  json: JsonValue;
}

const v = (name: string, json: JsonValue): HostileValue => ({ name, json });

/** 2^63 - 1, the largest int64. */
export const INT64_MAX = 9_223_372_036_854_775_807n;

/** Strings aimed at SQL, LIKE/GLOB patterns, logs, terminals and parsers. Applied to every string field. */
export const CORE_STRINGS: readonly HostileValue[] = [
  v("empty", ""),
  v("nul", "a\u0000b"),
  v("control", "\u0001\u0007\u001b[31mred\u007f"),
  v("sql-quote", "' OR '1'='1"),
  v("sql-drop", '"; DROP TABLE queue_items; --'),
  v("like-mix", "%_%\\"),
];

/** More strings, applied to the fields that name or match things (codes, names, identifiers, filters). */
export const EXTRA_STRINGS: readonly HostileValue[] = [
  v("glob-class", "*[a-z]?"),
  v("long-4k", "y".repeat(4_097)),
  v("crlf-injection", "a\r\nx-injected: 1"),
  v("sql-union", "x' UNION SELECT signing_secret FROM subscribers --"),
  v("rtl-override", "\u202eevil"),
  v("long-1025", "w".repeat(1_025)),
  v("long-64k", "z".repeat(65_536)),
];

/** Strings derived from the field's valid base value: near misses that must not match it. */
export function nearMisses(base: string): HostileValue[] {
  if (base === "") return [];
  const last = base.length - 1;
  return [
    v("trailing-space", `${base} `),
    v("upper-case", base.toUpperCase()),
    v("last-char-underscore", `${base.slice(0, last)}_`),
  ];
}

/** Wrong JSON types for a string field: protobuf JSON rejects all but null (the default). */
export const NOT_A_STRING: readonly HostileValue[] = [
  v("number-for-string", 12_345),
  v("array-for-string", ["a"]),
];

export const INT64_VALUES: readonly HostileValue[] = [
  v("int64-max", INT64_MAX.toString()),
  v("int64-min", (-INT64_MAX - 1n).toString()),
  v("minus-one", "-1"),
  v("int64-overflow", (INT64_MAX + 1n).toString()),
  v("huge-number", 1e300),
  v("fraction", "1.5"),
];

export const INT32_VALUES: readonly HostileValue[] = [
  v("int32-max", 2_147_483_647),
  v("int32-min", -2_147_483_648),
  v("minus-one", -1),
  v("int32-overflow", 2_147_483_648),
  v("fraction", 1.5),
];

export const BOOL_VALUES: readonly HostileValue[] = [v("string-yes", "yes"), v("one", 1)];

export const ENUM_VALUES: readonly HostileValue[] = [
  v("unknown-name", "BOGUS"),
  v("unknown-number", 99),
  v("negative-number", -1),
];

export const BYTES_VALUES: readonly HostileValue[] = [
  v("not-base64", "not base64!"),
  v("url-safe", "-_-_"),
  v("number", 12),
];

export const DURATION_VALUES: readonly HostileValue[] = [
  v("negative", "-1s"),
  v("beyond-range", "315576000001s"),
  v("garbage", "abc"),
  v("ten-years", "315360000s"),
];

export const TIMESTAMP_VALUES: readonly HostileValue[] = [
  v("year-1", "0001-01-01T00:00:00Z"),
  v("year-9999", "9999-12-31T23:59:59.999999999Z"),
  v("year-10000", "10000-01-01T00:00:00Z"),
  v("number", 0),
];

/** For repeated fields: wrong shapes, and more elements than any limit. */
export function listValues(element: JsonValue): HostileValue[] {
  return [
    v("empty-list", []),
    v("scalar-for-list", element),
    v(
      "10001-elements",
      Array.from({ length: 10_001 }, () => element),
    ),
  ];
}

/** Values for the first element of a list of strings (ack ids, …). */
export const LIST_ELEMENT_STRINGS: readonly HostileValue[] = [
  v("empty", ""),
  v("nul", "a\u0000b"),
  v("sql-quote", "' OR '1'='1"),
  v("long-64k", "z".repeat(65_536)),
];

export const MAP_VALUES: readonly HostileValue[] = [
  v("empty-key", { "": "v" }),
  v("number-value", { k: 1 }),
  v("nul-key-and-value", { "\u0000": "\u0000" }),
  v("sql-key", { "'; DROP TABLE messages; --": "%_\\" }),
  v("101-keys", Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, "v"]))),
  v("proto-key", JSON.parse('{"__proto__":"x","constructor":"y"}') as JsonValue),
];

/** For singular message fields (not well-known types). */
export const MESSAGE_VALUES: readonly HostileValue[] = [
  v("string-for-message", "x"),
  v("array-for-message", []),
];
