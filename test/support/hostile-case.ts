/**
 * The shape of a hostile-input case and the requests cases send: the RPC's path, gRPC and Connect
 * request framing (with a short deadline on streams), and protobuf from Connect JSON.
 */
import { type DescMethod, fromJson, type JsonObject, type JsonValue, toBinary } from "@bufbuild/protobuf";
import type { Code } from "@connectrpc/connect";
import type { RawRequest } from "./raw-http2-client.js";
import { envelope } from "./wire-bytes.js";

export type Protocol = "grpc" | "connect";

export interface HostileCase {
  /** Unique and readable, e.g. "grpc herald.v1.AdminService/GetTopic code=sql-drop". */
  id: string;
  protocol: Protocol;
  method: DescMethod;
  /** Builds the request when the case runs (some bodies are bigger than 12 MiB). */
  request(): RawRequest;
  /** The right codes for this case; undefined when any status that blames the client will do. */
  expectCodes?: readonly Code[];
  /** HTTP statuses that are a right refusal for this case (e.g. 415 for a wrong content type). */
  expectHttp?: readonly number[];
  /** Client text the server may echo back; removed before scanning messages for leaks. */
  echoes: readonly string[];
}

/** One RPC and a valid-looking Connect JSON request for it that points at fixture entities. */
export interface MethodTarget {
  method: DescMethod;
  base: JsonObject;
  /** Fields (dotted JSON paths) that name or match things: they get the extended string table. */
  keyFields?: readonly string[];
}

/** Streams are cut by a short deadline: an accepted Subscribe would otherwise wait forever. */
const STREAM_DEADLINE_MS = 50;
export const MIB = 1024 * 1024;
/** Herald's readMaxBytes. */
export const READ_MAX_BYTES = 12 * MIB;

export function rpcPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

export const isStreaming = (method: DescMethod) => method.methodKind === "server_streaming";

/** A gRPC request for `method` with `body` as is. */
export function grpcRequest(
  method: DescMethod,
  body: Uint8Array | Uint8Array[],
  headers: Record<string, string> = {},
): RawRequest {
  return {
    path: rpcPath(method),
    headers: {
      "content-type": "application/grpc",
      te: "trailers",
      ...(isStreaming(method) ? { "grpc-timeout": `${STREAM_DEADLINE_MS}m` } : {}),
      ...headers,
    },
    body,
  };
}

/** A Connect request for `method`: unary JSON, or one enveloped JSON message for a stream. */
export function connectRequest(
  method: DescMethod,
  json: Uint8Array,
  headers: Record<string, string> = {},
): RawRequest {
  const streaming = isStreaming(method);
  return {
    path: rpcPath(method),
    headers: {
      "content-type": streaming ? "application/connect+json" : "application/json",
      "connect-protocol-version": "1",
      ...(streaming ? { "connect-timeout-ms": String(STREAM_DEADLINE_MS) } : {}),
      ...headers,
    },
    body: streaming ? envelope(json) : json,
  };
}

/** Protobuf of a JSON request as the server would parse it; undefined when protobuf JSON rejects it. */
export function jsonToBinary(method: DescMethod, json: JsonValue): Uint8Array | undefined {
  try {
    return toBinary(method.input, fromJson(method.input, json, { ignoreUnknownFields: true }));
  } catch {
    return undefined;
  }
}
