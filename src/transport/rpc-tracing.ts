import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { RpcSpan, Tracing } from "../app/ports/tracing.js";

/** gRPC's OK, which connect's Code (errors only) does not name. */
const OK = 0;

/**
 * Services whose calls make no span: health probes (a load balancer's every few seconds) and
 * reflection (tooling) would bury the message traffic.
 */
const UNTRACED_SERVICE = /^grpc\.(health|reflection)\./;

/**
 * Server interceptor giving each call a server span (continuing the caller's W3C `traceparent`
 * from its metadata), current while the handler runs, so the spans of the work it does become
 * children. A streaming response's span lasts until the stream ends; every step of the stream runs
 * with the span current. Put it first (outermost), so it sees the codes the error mapping
 * produced. Installed only when tracing is on.
 */
export function tracingInterceptor(tracing: Tracing): Interceptor {
  return (next) => async (request) => {
    if (UNTRACED_SERVICE.test(request.service.typeName)) return next(request);
    const span = tracing.startRpc(`${request.service.typeName}/${request.method.name}`, (name) =>
      request.header.get(name),
    );
    try {
      const response = await span.run(() => next(request));
      if (!response.stream) {
        span.end(OK);
        return response;
      }
      return { ...response, message: tracedStream(response.message, span, request.signal) };
    } catch (error) {
      const connectError = ConnectError.from(error);
      span.end(connectError.code, connectError.rawMessage);
      throw error;
    }
  };
}

/**
 * The stream with every `next` run inside the span (a generator's body resumes in the context of
 * whoever calls `next`), ending the span once: OK when it finishes, its error's code when it
 * fails, CANCELED when the client went away or the stream was returned early.
 */
function tracedStream<T>(stream: AsyncIterable<T>, span: RpcSpan, signal: AbortSignal): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = stream[Symbol.asyncIterator]();
      let isEnded = false;
      const end = (code: number, message?: string) => {
        if (isEnded) return;
        isEnded = true;
        span.end(code, message);
      };
      const step = async (move: () => Promise<IteratorResult<T>>): Promise<IteratorResult<T>> => {
        try {
          const result = await span.run(move);
          if (result.done) end(signal.aborted ? Code.Canceled : OK);
          return result;
        } catch (error) {
          const connectError = ConnectError.from(error);
          end(connectError.code, connectError.rawMessage);
          throw error;
        }
      };
      return {
        next: () => step(() => iterator.next()),
        return: (value?: unknown) => {
          end(Code.Canceled);
          return iterator.return
            ? span.run(() => (iterator.return as (v?: unknown) => Promise<IteratorResult<T>>)(value))
            : Promise.resolve({ done: true, value: value as T });
        },
        ...(iterator.throw
          ? {
              throw: (error?: unknown) =>
                step(() => (iterator.throw as (e?: unknown) => Promise<IteratorResult<T>>)(error)),
            }
          : {}),
      };
    },
  };
}
