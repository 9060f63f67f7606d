/**
 * What a raw gRPC or Connect response means to a client (a status code and message, an HTTP-level
 * refusal, or a broken transport), and the checks every hostile-input case applies to it.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { ErrorDetailSchema } from "../../gen/herald/v1/errors_pb.js";
import type { RawResponse } from "./raw-http2-client.js";

export type Outcome =
  /** The server answered with an RPC status (OK included). */
  | { kind: "status"; code: Code; message: string; reason?: string; field?: string; httpStatus: number }
  /** The server refused at the HTTP level without an RPC status (e.g. 415 for a wrong content type). */
  | { kind: "http"; httpStatus: number; body: string }
  /** No usable answer: reset stream, lost connection, or silence until the timeout. */
  | { kind: "broken"; detail: string };

function herald(error: ConnectError): { reason?: string; field?: string } {
  const [detail] = error.findDetails(ErrorDetailSchema);
  return detail ? { reason: detail.reason, field: detail.field } : {};
}

function brokenOrNull(res: RawResponse): Outcome | null {
  if (res.timedOut) return { kind: "broken", detail: "no complete response (timed out)" };
  if (res.httpStatus === 0) return { kind: "broken", detail: res.transportError ?? "no response headers" };
  return null;
}

/** Reads a gRPC response: grpc-status from the trailers, or from the headers of a trailers-only answer. */
export function grpcOutcome(res: RawResponse): Outcome {
  const broken = brokenOrNull(res);
  if (broken) return broken;
  const source = res.trailers["grpc-status"] !== undefined ? res.trailers : res.headers;
  const status = source["grpc-status"];
  if (status === undefined) {
    if (res.httpStatus !== 200)
      return { kind: "http", httpStatus: res.httpStatus, body: res.body.toString() };
    return {
      kind: "broken",
      detail: `HTTP 200 without grpc-status (${res.transportError ?? "no trailers"})`,
    };
  }
  if (status === "0") return statusOk(res);
  const code = Number(status) as Code;
  const error = findTrailerError(new Headers(source)) ?? new ConnectError("", Code.Unknown);
  return { kind: "status", code, message: error.rawMessage, ...herald(error), httpStatus: res.httpStatus };
}

/** gRPC status 0; connect's `Code` enum has no member for success. */
export const OK = 0 as Code;

function statusOk(res: RawResponse): Outcome {
  return { kind: "status", code: OK, message: "", httpStatus: res.httpStatus };
}

/**
 * Reads a Connect response. Unary: HTTP 200 is OK, any other status carries a JSON error body.
 * Streaming: the last envelope (flag 2) is the end-of-stream JSON with an optional error.
 */
export function connectOutcome(res: RawResponse, streaming: boolean): Outcome {
  const broken = brokenOrNull(res);
  if (broken) return broken;
  const contentType = res.headers["content-type"] ?? "";
  if (streaming && res.httpStatus === 200) return connectEndStream(res);
  if (res.httpStatus === 200) return statusOk(res);
  if (!contentType.startsWith("application/json")) {
    return { kind: "http", httpStatus: res.httpStatus, body: res.body.toString() };
  }
  const fallback = new ConnectError(`unparseable error body (HTTP ${res.httpStatus})`, Code.Unknown);
  try {
    const error = errorFromJsonBytes(res.body, undefined, fallback);
    return {
      kind: "status",
      code: error.code,
      message: error.rawMessage,
      ...herald(error),
      httpStatus: res.httpStatus,
    };
  } catch {
    return { kind: "broken", detail: `HTTP ${res.httpStatus} with an unparseable error body` };
  }
}

function connectEndStream(res: RawResponse): Outcome {
  let offset = 0;
  let end: Buffer | undefined;
  while (offset + 5 <= res.body.length) {
    const flags = res.body.readUInt8(offset);
    const length = res.body.readUInt32BE(offset + 1);
    const payload = res.body.subarray(offset + 5, offset + 5 + length);
    if ((flags & 0b10) !== 0) end = payload;
    offset += 5 + length;
  }
  if (end === undefined) return { kind: "broken", detail: "Connect stream without an end-of-stream message" };
  const json = JSON.parse(end.toString()) as { error?: unknown };
  if (json.error === undefined) return statusOk(res);
  const fallback = new ConnectError("unparseable end-of-stream error", Code.Unknown);
  const error = errorFromJsonBytes(Buffer.from(JSON.stringify(json.error)), undefined, fallback);
  return { kind: "status", code: error.code, message: error.rawMessage, ...herald(error), httpStatus: 200 };
}

/** Codes a server must never answer to input a client chose: they blame the server, not the request. */
export const SERVER_FAULT_CODES: ReadonlySet<Code> = new Set([
  Code.Internal,
  Code.Unknown,
  Code.DataLoss,
  Code.Unavailable,
]);

/** Text that betrays internals when found in an error message: stack frames, paths, SQL, driver names. */
const LEAK_PATTERNS: readonly [string, RegExp][] = [
  ["stack frame", /\n\s*at\s|\bat\s+[\w.<>]+\s+\((?:file:|node:|\/)/],
  ["file path", /(?:^|[\s("'=:])\/(?:work|home|usr|tmp|app|opt|root|var|srv)\//],
  ["source location", /\b[\w-]+\.(?:ts|js|mjs|cjs):\d+/],
  ["node_modules", /node_modules/],
  ["SQLite error code", /\bSQLITE_[A-Z_]+/],
  ["MySQL error code", /\bER_[A-Z_]{3,}|\bsqlState\b|\berrno\b/i],
  ["driver name", /\b(?:sqlite3?|better-sqlite3|mysql2?|mariadb|knex|innodb)\b/i],
  ["SQL statement", /\b(?:select\s[\s\S]*\sfrom|insert\s+into|update\s+`?\w+`?\s+set|delete\s+from)\b/i],
  ["SQL syntax error", /SQL syntax|syntax error at|near "[^"]*": syntax error/i],
  ["quoted identifier", /`\w+`\.`\w+`/],
  ["JavaScript error", /\b(?:TypeError|RangeError|ReferenceError)\b|Cannot read propert|is not a function/],
];

/** Names the kinds of internal detail in `message`, ignoring the echoed `inputs` (they are the client's own text). */
export function leaksIn(message: string, inputs: readonly string[]): string[] {
  let text = message;
  for (const input of [...inputs].sort((a, b) => b.length - a.length)) {
    if (input.length >= 1) text = text.split(input).join("<input>");
  }
  return LEAK_PATTERNS.filter(([, pattern]) => pattern.test(text)).map(([name]) => name);
}

/** One line describing an outcome, for failure lists and the printed report. */
export function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case "status": {
      const text =
        outcome.message.length > 160
          ? `${outcome.message.slice(0, 160)}… (${outcome.message.length} chars)`
          : outcome.message;
      return `${outcome.code === OK ? "OK" : (Code[outcome.code] ?? outcome.code)}${outcome.field ? ` [${outcome.field}]` : ""} ${JSON.stringify(text)}`;
    }
    case "http":
      return `HTTP ${outcome.httpStatus} ${JSON.stringify(outcome.body.slice(0, 120))}`;
    case "broken":
      return `BROKEN ${outcome.detail}`;
  }
}
