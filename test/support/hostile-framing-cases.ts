/**
 * Malformed framing, compression, content types and headers for one RPC, over gRPC (hand-made
 * frames) and Connect (raw bodies). Framing is code shared by every RPC, so every RPC gets the core
 * cases and a few RPCs the rest.
 */
import { gzipSync } from "node:zlib";
import { Code } from "@connectrpc/connect";
import {
  connectRequest,
  grpcRequest,
  type HostileCase,
  isStreaming,
  jsonToBinary,
  type MethodTarget,
  MIB,
  READ_MAX_BYTES,
  rpcPath,
} from "./hostile-case.js";
import type { RawRequest } from "./raw-http2-client.js";
import { concatBytes, envelope, lengthDelimited, tag, utf8, varintField, WireType } from "./wire-bytes.js";

/** A deterministic pseudo-random byte source (LCG), so "random garbage" is the same on every run. */
function garbage(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

let zeroBombBytes: Uint8Array | undefined;
let jsonBombBytes: Uint8Array | undefined;
/** 20 MiB of zeros, gzipped (about 20 KiB): decompresses far past readMaxBytes. */
const zeroBomb = () => (zeroBombBytes ??= gzipSync(new Uint8Array(20 * MIB)));
/** A 20 MiB JSON document, gzipped. */
const jsonBomb = () => (jsonBombBytes ??= gzipSync(Buffer.from(`{"zzz":"${"0".repeat(20 * MIB)}"}`)));

/**
 * Which framing cases an RPC gets. Framing is code shared by every RPC, so every RPC gets the core
 * cases and a few RPCs the rest.
 */
export interface FramingOptions {
  /** All cases, not only the core ones. */
  full: boolean;
  /** Also the cases that move tens of MiB or parse 100k-deep JSON (gzip bombs, > 12 MiB bodies). */
  heavy: boolean;
}

/**
 * Malformed framing, compression, content types and headers for one RPC over gRPC. Compressed cases
 * accept UNIMPLEMENTED too: a server may support no compression at all.
 */
export function grpcFramingCases(target: MethodTarget, options: FramingOptions): HostileCase[] {
  const { method } = target;
  const base = jsonToBinary(method, target.base) ?? new Uint8Array();
  const c = (name: string, build: () => RawRequest, expect: Partial<HostileCase> = {}): HostileCase => ({
    id: `grpc ${rpcPath(method).slice(1)} ${name}`,
    protocol: "grpc",
    method,
    request: build,
    echoes: [],
    ...expect,
  });
  const coreIds = new Set<string>();
  /** A case every RPC gets; the others only RPCs with `full`. */
  const core = (...args: Parameters<typeof c>) => {
    const made = c(...args);
    coreIds.add(made.id);
    return made;
  };
  const codes = (...list: Code[]) => ({ expectCodes: list });
  const g = (body: Uint8Array | Uint8Array[], headers?: Record<string, string>) => () =>
    grpcRequest(method, body, headers);
  const cases = [
    core("frame: empty message", g(envelope(new Uint8Array()))),
    core("frame: no message at all", g(new Uint8Array()), codes(Code.Unimplemented)),
    core(
      "frame: prefix promises 100 bytes, 3 sent",
      g(envelope(utf8("abc"), { declaredLength: 100 })),
      codes(Code.InvalidArgument),
    ),
    c("frame: only 3 bytes of the 5-byte prefix", g(new Uint8Array([0, 0, 0])), codes(Code.InvalidArgument)),
    c(
      "frame: prefix says 2 bytes, the whole request follows",
      g(envelope(concatBytes(base, utf8("zzzzzzzzzz")), { declaredLength: 2 })),
    ),
    core(
      "frame: prefix says 4 GiB",
      g(envelope(base, { declaredLength: 0xffff_ffff })),
      codes(Code.ResourceExhausted),
    ),
    c(
      "frame: prefix says readMaxBytes + 1",
      g(envelope(base, { declaredLength: READ_MAX_BYTES + 1 })),
      codes(Code.ResourceExhausted),
    ),
    core(
      "frame: compressed flag without grpc-encoding",
      g(envelope(base, { flags: 1 })),
      codes(Code.InvalidArgument, Code.Unimplemented),
    ),
    c(
      "frame: compressed flag, gzip declared, bytes not gzip",
      g(envelope(utf8("not gzip at all"), { flags: 1 }), { "grpc-encoding": "gzip" }),
      codes(Code.InvalidArgument, Code.Unimplemented),
    ),
    c(
      "frame: gzip of the valid request",
      g(envelope(gzipSync(base), { flags: 1 }), { "grpc-encoding": "gzip" }),
    ),
    c(
      "header: grpc-encoding snappy",
      g(envelope(base, { flags: 1 }), { "grpc-encoding": "snappy" }),
      codes(Code.Unimplemented),
    ),
    core(
      "frame: two messages for a single-request call",
      g([envelope(base), envelope(base)]),
      codes(Code.Unimplemented),
    ),
    c("frame: reserved flag bits 0x7e set", g(envelope(base, { flags: 0x7e }))),
    core(
      "proto: a trailing 0xff after the request",
      g(envelope(concatBytes(base, new Uint8Array([0xff])))),
      codes(Code.InvalidArgument),
    ),
    c("proto: wire type 7", g(envelope(new Uint8Array([0x0f, 0x00]))), codes(Code.InvalidArgument)),
    c("proto: field number 0", g(envelope(new Uint8Array([0x00, 0x01]))), codes(Code.InvalidArgument)),
    c(
      "proto: start group never ended",
      g(envelope(concatBytes(tag(15, WireType.startGroup), varintField(1, 1)))),
      codes(Code.InvalidArgument),
    ),
    c("proto: unknown field 999 (varint)", g(envelope(concatBytes(base, varintField(999, 1))))),
    c(
      "proto: unknown field 2^29-1, 1 KiB",
      g(envelope(concatBytes(base, lengthDelimited(536_870_911, new Uint8Array(1024))))),
    ),
    c("proto: 1 KiB of pseudo-random bytes", g(envelope(garbage(1024, 42)))),
    c(
      "proto: 11-byte varint",
      g(envelope(concatBytes(tag(1, WireType.varint), new Uint8Array(10).fill(0xff), new Uint8Array([1])))),
      codes(Code.InvalidArgument),
    ),
    core("header: content-type text/plain", g(envelope(base), { "content-type": "text/plain" }), {
      expectHttp: [415],
    }),
    c(
      "header: content-type application/grpc+xml",
      g(envelope(base), { "content-type": "application/grpc+xml" }),
      { expectHttp: [415] },
    ),
    c(
      "header: content-type application/grpc+json, JSON body",
      g(envelope(utf8(JSON.stringify(target.base))), { "content-type": "application/grpc+json" }),
    ),
    core(
      "header: grpc-timeout garbage",
      g(envelope(base), { "grpc-timeout": "soon" }),
      codes(Code.InvalidArgument),
    ),
    c("header: grpc-timeout 99999999H", g(envelope(base), { "grpc-timeout": "99999999H" })),
    c("method: GET", () => ({ ...grpcRequest(method, []), method: "GET" }), { expectHttp: [405] }),
  ];
  if (!options.full) return cases.filter((x) => coreIds.has(x.id));
  if (!options.heavy) return cases;
  cases.push(
    c(
      "frame: gzip bomb (20 MiB of zeros)",
      () => grpcRequest(method, envelope(zeroBomb(), { flags: 1 }), { "grpc-encoding": "gzip" }),
      codes(Code.ResourceExhausted, Code.Unimplemented),
    ),
    c(
      "frame: 12 MiB + 1 KiB actually sent",
      () =>
        grpcRequest(method, envelope(lengthDelimited(1, new Uint8Array(READ_MAX_BYTES + 1024).fill(0x61)))),
      codes(Code.ResourceExhausted),
    ),
  );
  return cases;
}

/** Malformed bodies, encodings, content types and headers for one RPC over Connect. */
export function connectFramingCases(target: MethodTarget, options: FramingOptions): HostileCase[] {
  const { method } = target;
  const baseJson = JSON.stringify(target.base);
  const c = (name: string, build: () => RawRequest, expect: Partial<HostileCase> = {}): HostileCase => ({
    id: `connect ${rpcPath(method).slice(1)} ${name}`,
    protocol: "connect",
    method,
    request: build,
    echoes: [],
    ...expect,
  });
  const coreIds = new Set<string>();
  /** A case every RPC gets; the others only RPCs with `full`. */
  const core = (...args: Parameters<typeof c>) => {
    const made = c(...args);
    coreIds.add(made.id);
    return made;
  };
  const invalid = { expectCodes: [Code.InvalidArgument] };
  const body = (text: string | Uint8Array, headers?: Record<string, string>) => () =>
    connectRequest(method, typeof text === "string" ? utf8(text) : text, headers);
  // Unary Connect compresses the whole body (content-encoding); streaming compresses each envelope
  // (flag 1, connect-content-encoding).
  const compressed = (bytes: Uint8Array, encoding: string) => () =>
    isStreaming(method)
      ? {
          ...connectRequest(method, new Uint8Array(), { "connect-content-encoding": encoding }),
          body: envelope(bytes, { flags: 1 }),
        }
      : connectRequest(method, bytes, { "content-encoding": encoding });
  const deepArray = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
  const firstField = method.input.fields[0]?.jsonName ?? "x";
  const cases = [
    core("body: empty", body(""), invalid),
    core("body: {", body("{"), invalid),
    c("body: null", body("null"), invalid),
    c("body: []", body("[]"), invalid),
    c('body: "string"', body('"string"'), invalid),
    c("body: 123", body("123"), invalid),
    c("body: {}", body("{}")),
    core("body: NaN literal", body(`{"${firstField}": NaN}`), invalid),
    c("body: byte-order mark before {}", body(`\ufeff{}`)),
    core(
      "body: invalid UTF-8 inside a string",
      body(concatBytes(utf8('{"zzz":"'), new Uint8Array([0xff, 0xfe, 0xc0]), utf8('"}'))),
    ),
    c("body: invalid UTF-8 as a key", body(concatBytes(utf8('{"'), new Uint8Array([0xff]), utf8('":1}')))),
    c("body: lone surrogate escape", body(`{"${firstField}":"\\ud800"}`)),
    c("body: unknown field", body(`{"thisFieldDoesNotExist":{"x":[1,2,3]}}`)),
    c("body: duplicate keys", body(`{"${firstField}":null,"${firstField}":null}`)),
    core(
      "body: __proto__ and constructor keys",
      body('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'),
    ),
    c("body: 10k nested arrays in a known field", body(`{"${firstField}":${deepArray(10_000)}}`), invalid),
    core("header: content-type application/xml", body(baseJson, { "content-type": "application/xml" }), {
      expectHttp: [415],
    }),
    c("header: content-type text/plain", body(baseJson, { "content-type": "text/plain" }), {
      expectHttp: [415],
    }),
    c("header: charset latin1", body(baseJson, { "content-type": "application/json; charset=latin1" }), {
      expectHttp: [415],
    }),
    c("header: connect-protocol-version 2", body(baseJson, { "connect-protocol-version": "2" })),
    c("header: connect-timeout-ms garbage", body(baseJson, { "connect-timeout-ms": "soon" }), invalid),
    c("header: content-encoding gzip, body not gzip", compressed(utf8(baseJson), "gzip"), {
      expectCodes: [Code.InvalidArgument, Code.Unimplemented],
    }),
    c("header: content-encoding snappy", compressed(utf8(baseJson), "snappy"), {
      expectCodes: [Code.Unimplemented],
    }),
    core(
      "header: application/proto with garbage",
      () => ({
        ...connectRequest(method, garbage(512, 7)),
        headers: {
          "content-type": isStreaming(method) ? "application/connect+proto" : "application/proto",
          "connect-protocol-version": "1",
        },
      }),
      invalid,
    ),
    c("method: GET", () => ({ ...connectRequest(method, utf8(baseJson)), method: "GET" }), {
      expectHttp: [405, 415],
    }),
    c("method: PUT", () => ({ ...connectRequest(method, utf8(baseJson)), method: "PUT" }), {
      expectHttp: [405, 415],
    }),
  ];
  if (!options.full) return cases.filter((x) => coreIds.has(x.id));
  if (!options.heavy) return cases;
  cases.push(
    c("body: 100k nested arrays under an unknown key", body(`{"zzz":${deepArray(100_000)}}`)),
    c("body: 100k nested objects under an unknown key", body(`{"zzz":${deepObject(100_000)}}`)),
    c("body: 10 MiB string under an unknown key", () =>
      connectRequest(method, utf8(JSON.stringify({ zzz: "z".repeat(10 * MIB) }))),
    ),
    c("header: gzip bomb (20 MiB JSON)", () => compressed(jsonBomb(), "gzip")(), {
      expectCodes: [Code.ResourceExhausted, Code.Unimplemented],
    }),
    c(
      "body: 12 MiB + 1 KiB",
      () => connectRequest(method, utf8(JSON.stringify({ zzz: "z".repeat(READ_MAX_BYTES + 1024) }))),
      { expectCodes: [Code.ResourceExhausted] },
    ),
  );
  return cases;
}
