import type http2 from "node:http2";
import type { DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { createMethodUrl } from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { InflightCalls, invokeFastUnary } from "./fast-unary-call.js";

type NodeHandler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

/** A unary method and its implementation, as registered with the connect router. */
export interface FastUnaryMethod {
  // biome-ignore lint/suspicious/noExplicitAny: any unary method; input and output are checked by the descriptor.
  method: DescMethodUnary<any, any>;
  // biome-ignore lint/suspicious/noExplicitAny: the connect MethodImpl for that method.
  impl: (request: any, context: any) => any;
}

export interface GrpcUnaryFastPathOptions {
  methods: readonly FastUnaryMethod[];
  /** The same interceptors, in the same order, as the connect adapter's. */
  interceptors: readonly Interceptor[];
  shutdownSignal: AbortSignal;
  /** Largest request message, bytes (the adapter's readMaxBytes). */
  readMaxBytes: number;
  /** Longest honoured grpc-timeout, ms (the adapter's maxTimeoutMs). */
  maxTimeoutMs: number;
  /** The same context values the adapter's `contextValues` gives (e.g. the gate's principal). */
  contextValues?: (req: http2.Http2ServerRequest) => ContextValues;
}

/** gRPC's binary content types; `application/grpc+json` and everything else stays with connect. */
const BINARY_CONTENT_TYPE = /^application\/grpc(?:\+proto)?$/i;
const ENVELOPE_PREFIX_BYTES = 5;

/**
 * Serves the hot unary calls (Publish, Acknowledge) in their common form — gRPC over HTTP/2,
 * binary, uncompressed — without connect's generic async-iterable pipeline, and hands every other
 * request to `fallback` (connect). Why: on the 2-core bench machine connect-node spent ~0.9 ms of
 * CPU per unary call against ~0.25 ms for the same call on a bare http2 stream, which capped
 * single-message Publish far below 1,000/s. Behaviour stays connect's: the same interceptors run
 * around the same implementation with the same request shapes (fast-unary-call.ts), errors travel
 * as connect writes them (setTrailerStatus), and the framing errors carry connect's codes and
 * messages.
 */
export function withGrpcUnaryFastPath(options: GrpcUnaryFastPathOptions, fallback: NodeHandler): NodeHandler {
  const byPath = new Map<string, FastUnaryMethod>();
  for (const m of options.methods) byPath.set(createMethodUrl("/", m.method), m);
  const inflight = new InflightCalls(options.shutdownSignal);
  return (req, res) => {
    const target = byPath.get(req.url);
    if (
      target === undefined ||
      req.httpVersionMajor !== 2 ||
      req.method !== "POST" ||
      !BINARY_CONTENT_TYPE.test(req.headers["content-type"] ?? "") ||
      !isIdentityEncoding(req.headers["grpc-encoding"])
    ) {
      fallback(req, res);
      return;
    }
    void serveUnary(target, options, inflight, req, res);
  };
}

function firstValue(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

function isIdentityEncoding(value: string | string[] | undefined): boolean {
  return value === undefined || value === "identity";
}

async function serveUnary(
  target: FastUnaryMethod,
  options: GrpcUnaryFastPathOptions,
  inflight: InflightCalls,
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
): Promise<void> {
  const { method } = target;
  const controller = inflight.started();
  // Aborts the call's signal when the client resets the stream before the answer, as connect does.
  const onClose = () => {
    if (!res.writableEnded) controller.abort(new ConnectError("client closed the stream", Code.Canceled));
  };
  req.once("close", onClose);
  const timeout = parseTimeout(firstValue(req.headers["grpc-timeout"]), options.maxTimeoutMs);
  let deadlineTimer: NodeJS.Timeout | undefined;
  // A timeout past maxTimeoutMs comes back with an error (the call fails at once) and no timer:
  // setTimeout would warn about the overflow and fire after 1 ms.
  if (timeout.timeoutMs !== undefined && timeout.error === undefined) {
    deadlineTimer = setTimeout(
      () => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
      timeout.timeoutMs,
    );
  }
  const responseHeader = new Headers();
  const responseTrailer = new Headers();
  let body: Uint8Array | undefined;
  try {
    if (timeout.error) throw timeout.error;
    const bytes = await readBody(req, options.readMaxBytes + ENVELOPE_PREFIX_BYTES);
    const { frame, rest } = firstFrame(bytes, options.readMaxBytes);
    const message = parseMessage(method, frame);
    assertNoSecondFrame(method, rest, options.readMaxBytes);
    const output = await invokeFastUnary(
      {
        method,
        impl: target.impl,
        interceptors: options.interceptors,
        req,
        signal: controller.signal,
        deadlineMs: timeout.timeoutMs === undefined ? undefined : Date.now() + timeout.timeoutMs,
        contextValues: options.contextValues?.(req),
        responseHeader,
        responseTrailer,
      },
      message,
    );
    body = toEnvelope(toBinary(method.output, output as MessageShape<typeof method.output>));
    responseTrailer.set("grpc-status", "0");
  } catch (e) {
    setTrailerStatus(
      responseTrailer,
      e instanceof ConnectError
        ? e
        : new ConnectError("internal error", Code.Internal, undefined, undefined, e),
    );
  } finally {
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    inflight.finished(controller);
    req.off("close", onClose);
  }
  if (res.destroyed) return;
  res.writeHead(200, { "content-type": "application/grpc+proto", ...toNodeHeaders(responseHeader) });
  res.addTrailers(toNodeHeaders(responseTrailer));
  if (body === undefined) res.end();
  else res.end(body);
}

/** The whole request body; throws RESOURCE_EXHAUSTED past `maxBytes` without buffering the rest. */
function readBody(req: http2.Http2ServerRequest, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.resume();
        reject(
          new ConnectError(
            `message size is larger than configured readMaxBytes ${maxBytes - ENVELOPE_PREFIX_BYTES}`,
            Code.ResourceExhausted,
          ),
        );
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new ConnectError(error.message, Code.Canceled, undefined, undefined, error));
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
  });
}

interface Frame {
  flags: number;
  message: Uint8Array;
}

/**
 * Splits a unary request body into its first frame and what follows, with connect's codes and
 * messages for every framing fault. Faults in the first frame throw at once; `rest` is checked by
 * `assertNoSecondFrame` after the first message parsed, the order connect reads them in.
 */
function firstFrame(bytes: Buffer, readMaxBytes: number): { frame: Frame; rest: Buffer } {
  if (bytes.length === 0) {
    throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  }
  const frame = readFrame(bytes, readMaxBytes);
  if (frame === undefined)
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  return { frame, rest: bytes.subarray(ENVELOPE_PREFIX_BYTES + frame.message.length) };
}

function readFrame(bytes: Buffer, readMaxBytes: number): Frame | undefined {
  if (bytes.length < ENVELOPE_PREFIX_BYTES) return undefined;
  const length = bytes.readUInt32BE(1);
  if (length > readMaxBytes) {
    throw new ConnectError(
      `message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`,
      Code.ResourceExhausted,
    );
  }
  if (bytes.length < ENVELOPE_PREFIX_BYTES + length) return undefined;
  return {
    flags: bytes[0] as number,
    message: bytes.subarray(ENVELOPE_PREFIX_BYTES, ENVELOPE_PREFIX_BYTES + length),
  };
}

function assertUncompressed(frame: Frame): void {
  if ((frame.flags & 0b1) === 0b1) {
    throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
  }
}

function parseMessage(method: FastUnaryMethod["method"], frame: Frame): unknown {
  assertUncompressed(frame);
  try {
    return fromBinary(method.input, frame.message);
  } catch (e) {
    throw new ConnectError(`parse binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
  }
}

/** A unary call carries exactly one message; whatever follows the first is a protocol error. */
function assertNoSecondFrame(method: FastUnaryMethod["method"], rest: Buffer, readMaxBytes: number): void {
  if (rest.length === 0) return;
  const second = readFrame(rest, readMaxBytes);
  if (second === undefined)
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  parseMessage(method, second);
  throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
}

function toEnvelope(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(ENVELOPE_PREFIX_BYTES + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, ENVELOPE_PREFIX_BYTES);
  return frame;
}

function toNodeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}
