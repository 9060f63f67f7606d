/**
 * Field-level hostile cases for one RPC: every field of the request (nested ones included) set to
 * each value of its type's table in `hostile-values.ts`, sent as Connect JSON and, for key strings,
 * again as protobuf over gRPC; protobuf damage aimed at each field; and a ~10 MiB key string.
 */
import { type DescField, type JsonObject, type JsonValue, ScalarType } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  connectRequest,
  grpcRequest,
  type HostileCase,
  jsonToBinary,
  type MethodTarget,
  MIB,
  rpcPath,
} from "./hostile-case.js";
import {
  BOOL_VALUES,
  BYTES_VALUES,
  CORE_STRINGS,
  DURATION_VALUES,
  ENUM_VALUES,
  EXTRA_STRINGS,
  type HostileValue,
  INT32_VALUES,
  INT64_MAX,
  INT64_VALUES,
  LIST_ELEMENT_STRINGS,
  listValues,
  MAP_VALUES,
  MESSAGE_VALUES,
  NOT_A_STRING,
  nearMisses,
  TIMESTAMP_VALUES,
} from "./hostile-values.js";
import { concatBytes, envelope, lengthDelimited, tag, utf8, varintField, WireType } from "./wire-bytes.js";

/** Every string inside a JSON value (what the server might echo), plus the value's JSON text. */
function echoesOf(value: JsonValue): string[] {
  const out: string[] = [JSON.stringify(value) ?? ""];
  const walk = (x: JsonValue) => {
    if (typeof x === "string") out.push(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && typeof x === "object")
      for (const [k, y] of Object.entries(x)) {
        out.push(k);
        walk(y as JsonValue);
      }
  };
  walk(value);
  return out;
}

/** A place in the request a value can be put: a field, or a field of a nested message. */
interface FieldSite {
  path: string;
  field: DescField;
  set(request: JsonObject, value: JsonValue): JsonObject;
}

const WELL_KNOWN = new Set(["google.protobuf.Duration", "google.protobuf.Timestamp"]);
/** Messages whose JSON form is not an object (a FieldMask is a string): attacked whole, not field by field. */
const NOT_OBJECT_IN_JSON = new Set([...WELL_KNOWN, "google.protobuf.FieldMask"]);

function clone<T>(value: T): T {
  return structuredClone(value);
}

function fieldSites(target: MethodTarget): FieldSite[] {
  const sites: FieldSite[] = [];
  const visit = (fields: readonly DescField[], prefix: string, at: (root: JsonObject) => JsonObject) => {
    for (const field of fields) {
      const path = `${prefix}${field.jsonName}`;
      const set = (request: JsonObject, value: JsonValue) => {
        const root = clone(request);
        at(root)[field.jsonName] = value;
        return root;
      };
      sites.push({ path, field, set });
      if (prefix !== "") continue; // one level of nesting covers every request Herald has
      if (field.fieldKind === "message" && !NOT_OBJECT_IN_JSON.has(field.message.typeName)) {
        visit(field.message.fields, `${path}.`, (root) => {
          const child = (root[field.jsonName] ?? {}) as JsonObject;
          root[field.jsonName] = child;
          return child;
        });
      }
      if (field.fieldKind === "list" && field.listKind === "message") {
        visit(field.message.fields, `${path}[0].`, (root) => {
          const list = (Array.isArray(root[field.jsonName]) ? root[field.jsonName] : [{}]) as JsonObject[];
          root[field.jsonName] = list;
          list[0] ??= {};
          return list[0];
        });
      }
    }
  };
  visit(target.method.input.fields, "", (root) => root);
  return sites;
}

function baseValueAt(base: JsonObject, path: string): JsonValue | undefined {
  let at: JsonValue | undefined = base;
  for (const part of path.split(".")) {
    const m = /^(\w+)(\[0\])?$/.exec(part);
    if (!m || at === null || typeof at !== "object" || Array.isArray(at)) return undefined;
    at = (at as JsonObject)[m[1] as string];
    if (m[2] && Array.isArray(at)) at = at[0];
  }
  return at;
}

function scalarValues(
  scalar: ScalarType,
  keyField: boolean,
  base: JsonValue | undefined,
): readonly HostileValue[] {
  switch (scalar) {
    case ScalarType.STRING:
      return keyField
        ? [
            ...CORE_STRINGS,
            ...EXTRA_STRINGS,
            ...nearMisses(typeof base === "string" ? base : ""),
            ...NOT_A_STRING,
          ]
        : [...CORE_STRINGS, ...NOT_A_STRING];
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
      return INT64_VALUES;
    case ScalarType.INT32:
    case ScalarType.UINT32:
    case ScalarType.SINT32:
      return INT32_VALUES;
    case ScalarType.BOOL:
      return BOOL_VALUES;
    case ScalarType.BYTES:
      return BYTES_VALUES;
    default:
      return INT32_VALUES;
  }
}

const keyField = (site: FieldSite, target: MethodTarget) => target.keyFields?.includes(site.path) ?? false;

/** String values worth sending again as protobuf: what a gRPC trailer or the binary path could mishandle. */
const GRPC_STRING_VALUES = new Set([
  "empty",
  "nul",
  "control",
  "sql-quote",
  "like-mix",
  "long-64k",
  "trailing-space",
]);

function sentOverGrpcToo(site: FieldSite, target: MethodTarget, value: HostileValue): boolean {
  const { field } = site;
  return (
    field.fieldKind === "scalar" &&
    field.scalar === ScalarType.STRING &&
    keyField(site, target) &&
    GRPC_STRING_VALUES.has(value.name)
  );
}

function valuesFor(site: FieldSite, target: MethodTarget): readonly HostileValue[] {
  const { field } = site;
  const isKey = keyField(site, target);
  const base = baseValueAt(target.base, site.path);
  switch (field.fieldKind) {
    case "scalar":
      return scalarValues(field.scalar, isKey, base);
    case "enum":
      return ENUM_VALUES;
    case "message":
      if (field.message.typeName === "google.protobuf.Duration") return DURATION_VALUES;
      if (field.message.typeName === "google.protobuf.Timestamp") return TIMESTAMP_VALUES;
      return MESSAGE_VALUES;
    case "list": {
      const element =
        Array.isArray(base) && base[0] !== undefined ? base[0] : field.listKind === "scalar" ? "1" : {};
      const shapes = listValues(element);
      if (field.listKind !== "scalar") return shapes;
      // A list of scalars also gets hostile first elements.
      const table = field.scalar === ScalarType.STRING ? LIST_ELEMENT_STRINGS : INT64_VALUES;
      const elements = table.map((x) => ({ name: `[0]=${x.name}`, json: [x.json] }));
      return [...shapes, ...elements];
    }
    case "map":
      return MAP_VALUES;
  }
}

/**
 * Every field of the request set to every value of its type's table, as Connect JSON; and, when
 * protobuf JSON accepts the value, the same request as protobuf over gRPC (deduplicated by bytes).
 */
export function fieldValueCases(target: MethodTarget): HostileCase[] {
  const { method } = target;
  const cases: HostileCase[] = [];
  const seenBinary = new Set<string>();
  for (const site of fieldSites(target)) {
    for (const value of valuesFor(site, target)) {
      const json = site.set(target.base, value.json);
      const name = `${site.path}=${value.name}`;
      const binary = jsonToBinary(method, json);
      const echoes = echoesOf(value.json);
      cases.push({
        id: `connect ${rpcPath(method).slice(1)} ${name}`,
        protocol: "connect",
        method,
        request: () => connectRequest(method, utf8(JSON.stringify(json))),
        ...(binary === undefined ? { expectCodes: [Code.InvalidArgument] } : {}),
        echoes,
      });
      if (binary === undefined) continue;
      // Over gRPC again only the key strings most likely to differ there: every other value reaches
      // the same handler code as its JSON case (and the semantic tests speak gRPC).
      if (!sentOverGrpcToo(site, target, value)) continue;
      const key = Buffer.from(binary).toString("base64");
      if (seenBinary.has(key)) continue;
      seenBinary.add(key);
      cases.push({
        id: `grpc ${rpcPath(method).slice(1)} ${name}`,
        protocol: "grpc",
        method,
        request: () => grpcRequest(method, envelope(binary)),
        echoes,
      });
    }
  }
  return cases;
}

/** Protobuf damage aimed at one field: wrong wire type, lying lengths, bad UTF-8, out-of-range WKTs. */
export function wireCases(target: MethodTarget): HostileCase[] {
  const { method } = target;
  const base = jsonToBinary(method, target.base) ?? new Uint8Array();
  const cases: HostileCase[] = [];
  const add = (field: DescField, name: string, bytes: Uint8Array, expectCodes?: Code[]) =>
    cases.push({
      id: `grpc ${rpcPath(method).slice(1)} ${field.jsonName}${name.startsWith(".") ? "" : ": "}${name}`,
      protocol: "grpc",
      method,
      // Fields later in the bytes win for singular fields, so the damage goes after the valid request.
      request: () => grpcRequest(method, envelope(concatBytes(base, bytes))),
      ...(expectCodes ? { expectCodes } : {}),
      echoes: [],
    });
  const invalid = [Code.InvalidArgument];
  for (const field of method.input.fields) {
    const n = field.number;
    const lengthDelimitedField =
      field.fieldKind === "message" ||
      field.fieldKind === "map" ||
      (field.fieldKind === "list" && field.listKind !== "scalar") ||
      (field.fieldKind === "scalar" &&
        (field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES)) ||
      (field.fieldKind === "list" && field.listKind === "scalar" && field.scalar === ScalarType.STRING);
    if (lengthDelimitedField) {
      add(field, "varint where bytes belong", varintField(n, 1));
      add(field, "length says 50, 1 byte follows", lengthDelimited(n, utf8("x"), 50), invalid);
    } else {
      add(
        field,
        "fixed64 where a varint belongs",
        concatBytes(tag(n, WireType.fixed64), new Uint8Array(8).fill(0xff)),
      );
      add(
        field,
        "varint cut short",
        concatBytes(tag(n, WireType.varint), new Uint8Array([0xff, 0xff])),
        invalid,
      );
    }
    const stringField =
      (field.fieldKind === "scalar" || field.fieldKind === "list") && field.scalar === ScalarType.STRING;
    if (stringField) {
      add(
        field,
        "invalid UTF-8",
        lengthDelimited(n, new Uint8Array([0x61, 0xff, 0xfe, 0xc0, 0x80])),
        invalid,
      );
    }
    // Durations and timestamps far outside any calendar, also inside a nested message (filter).
    const outOfRange = (name: string, wrap: (wkt: Uint8Array) => Uint8Array) => {
      const wkt = (seconds: bigint) => concatBytes(varintField(1, seconds), varintField(2, 0));
      add(field, `${name}seconds 2^63-1`, wrap(wkt(INT64_MAX)));
      add(field, `${name}seconds -2^63`, wrap(wkt(-INT64_MAX - 1n)));
    };
    if (field.fieldKind === "message" && WELL_KNOWN.has(field.message.typeName)) {
      outOfRange("", (wkt) => lengthDelimited(n, wkt));
    } else if (field.fieldKind === "message") {
      for (const sub of field.message.fields) {
        if (sub.fieldKind !== "message" || !WELL_KNOWN.has(sub.message.typeName)) continue;
        outOfRange(`.${sub.jsonName} `, (wkt) => lengthDelimited(n, lengthDelimited(sub.number, wkt)));
      }
    }
  }
  return cases;
}

/**
 * A ~10 MiB string in the first key field of the request (under readMaxBytes), as Connect JSON and
 * (with `grpc`) as protobuf: the server must refuse or answer it without echoing it back whole.
 */
export function hugeStringCases(target: MethodTarget, options: { grpc: boolean }): HostileCase[] {
  const { method } = target;
  const path = target.keyFields?.find((p) => !p.includes(".") && !p.includes("["));
  if (path === undefined) return [];
  const huge = "h".repeat(10 * MIB);
  const json = () => ({ ...target.base, [path]: huge });
  const name = `${path}=10MiB-string`;
  const cases: HostileCase[] = [
    {
      id: `connect ${rpcPath(method).slice(1)} ${name}`,
      protocol: "connect",
      method,
      request: () => connectRequest(method, utf8(JSON.stringify(json()))),
      echoes: [huge],
    },
    {
      id: `grpc ${rpcPath(method).slice(1)} ${name}`,
      protocol: "grpc",
      method,
      request: () => grpcRequest(method, envelope(jsonToBinary(method, json()) ?? new Uint8Array())),
      echoes: [huge],
    },
  ];
  return options.grpc ? cases : cases.filter((c) => c.protocol === "connect");
}
