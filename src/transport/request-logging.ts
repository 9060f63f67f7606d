import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";

/** Request and response header carrying the request id. */
export const REQUEST_ID_HEADER = "x-request-id";

/** A caller's id is kept when it is 1..64 printable ASCII characters without spaces; else one is made. */
const ACCEPTABLE_REQUEST_ID = /^[\x21-\x7e]{1,64}$/;

/** The caller's request id when acceptable, otherwise a new random one. */
export function requestIdFrom(incoming: string | null): string {
  return incoming !== null && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The canonical gRPC name of a code, e.g. INVALID_ARGUMENT. */
function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * Server interceptor giving each call a request id (the caller's `x-request-id` when it is a short
 * printable token), returned in the `x-request-id` response header (on errors: in the error's
 * metadata), and logging one debug line per call — procedure, gRPC code, duration — plus a warn line
 * for INTERNAL errors. It logs no request or response content. Put it first (outermost), so it sees
 * the codes the error mapping produced.
 */
export function requestLoggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (request) => {
    const requestId = requestIdFrom(request.header.get(REQUEST_ID_HEADER));
    const procedure = `${request.service.typeName}/${request.method.name}`;
    const startedMs = performance.now();
    const finish = (error: unknown, code: Code | undefined) => {
      if (error instanceof ConnectError) error.metadata.set(REQUEST_ID_HEADER, requestId);
      const fields = {
        requestId,
        procedure,
        code: code === undefined ? "OK" : codeName(code),
        durationMs: Math.round((performance.now() - startedMs) * 1000) / 1000,
      };
      logger.debug("rpc", fields);
      if (code === Code.Internal || code === Code.Unknown)
        logger.warn("rpc failed with an internal error", fields);
    };
    try {
      const response = await next(request);
      response.header.set(REQUEST_ID_HEADER, requestId);
      if (!response.stream) {
        finish(undefined, undefined);
        return response;
      }
      return { ...response, message: loggedStream(response.message, request.signal, finish) };
    } catch (error) {
      finish(error, codeOf(error));
      throw error;
    }
  };
}

function codeOf(error: unknown): Code {
  return error instanceof ConnectError ? error.code : Code.Unknown;
}

/** Logs when the stream ends: with its error's code, CANCELED when the client went away, else OK. */
async function* loggedStream<T>(
  stream: AsyncIterable<T>,
  signal: AbortSignal,
  finish: (error: unknown, code: Code | undefined) => void,
): AsyncGenerator<T> {
  let error: unknown;
  // Stays Canceled when the stream is returned early.
  let code: Code | undefined = Code.Canceled;
  try {
    yield* stream;
    // Handlers end their stream quietly when the client cancels.
    code = signal.aborted ? Code.Canceled : undefined;
  } catch (e) {
    error = e;
    code = codeOf(e);
    throw e;
  } finally {
    finish(error, code);
  }
}
