/**
 * Tracing port: what the use cases, the engine and the transport tell a tracer, and nothing about
 * OpenTelemetry. src/observability implements it when the OTEL_* variables turn tracing on; when
 * they do not, `noTracing` answers every hook at once and nothing is traced or stored.
 */
import type { Message } from "../../domain/message.js";

/** How a delivery reached its consumer. */
export type TracedDeliveryMethod = "stream" | "pull" | "push";

/** The current span as an opaque handle, resumed later with `Tracing.resume`. */
export interface TraceScope {
  readonly traceScope: true;
}

/** A server span of one RPC, started by the transport. */
export interface RpcSpan {
  /** Runs `work` with this span current: spans started inside (database, deliveries) become its children. */
  run<T>(work: () => T): T;
  /** Ends the span with the call's gRPC code (0 OK, 5 NOT_FOUND, …) and, on failure, its message. */
  end(grpcCode: number, message?: string): void;
}

/** What one webhook request answered, for the push span. */
export interface PushAttemptResult {
  /** The HTTP status; null when no response arrived. */
  status: number | null;
}

export interface Tracing {
  /** False for `noTracing`: callers skip even the work of preparing a hook's arguments. */
  readonly isEnabled: boolean;
  /**
   * A server span for the RPC `procedure` ("pkg.Service/Method"), continuing the caller's trace
   * when `header` has a W3C `traceparent` (and `tracestate`).
   */
  startRpc(procedure: string, header: (name: string) => string | null): RpcSpan;
  /**
   * The trace context to store with each message of a publish (one entry per message): the
   * message's own when its attributes carry one (Pub/Sub clients send `googclient_traceparent`),
   * otherwise the current span's; undefined when there is none.
   */
  publishContexts(
    messages: readonly { attributes: Readonly<Record<string, string>> }[],
  ): (string | undefined)[];
  /** The current span, when there is one (a group commit resumes it for its shared transaction). */
  capture(): TraceScope | undefined;
  /** Runs `work` with `scope` current (none: outside any trace), whatever was current before. */
  resume<T>(scope: TraceScope | undefined, work: () => T): T;
  /**
   * Runs `claim` (a stream batch or a Pull); when it returns messages, records a delivery span
   * under the current RPC span, linked to the trace context of each message. With no current span
   * (background loops) it only runs `claim`.
   */
  deliver<T>(
    method: Exclude<TracedDeliveryMethod, "push">,
    subscription: string,
    claim: () => Promise<T>,
    messagesOf: (result: T) => readonly Message[],
  ): Promise<T>;
  /**
   * Runs one webhook push of `message` to `url` inside a span that continues the message's trace;
   * `send` gets the W3C headers (`traceparent`, `tracestate`) the request must carry.
   */
  push<T extends PushAttemptResult>(
    subscription: string,
    message: Message,
    url: string,
    send: (traceHeaders: Readonly<Record<string, string>>) => Promise<T>,
  ): Promise<T>;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

const noRpcSpan: RpcSpan = {
  run: (work) => work(),
  end: () => undefined,
};

/** Tracing off: every hook costs a call and nothing else. */
export const noTracing: Tracing = {
  isEnabled: false,
  startRpc: () => noRpcSpan,
  publishContexts: (messages) => messages.map(() => undefined),
  capture: () => undefined,
  resume: (_scope, work) => work(),
  deliver: (_method, _subscription, claim) => claim(),
  push: (_subscription, _message, _url, send) => send(NO_HEADERS),
};
