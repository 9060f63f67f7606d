/**
 * The Tracing port on the OpenTelemetry SDK. The current span travels in an AsyncLocalStorage of
 * this instance (not the API's global context manager): the RPC span a transport interceptor
 * starts is current inside its handler, so the delivery and database spans started under it
 * become its children without being passed around.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import {
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from "@opentelemetry/semantic-conventions";
import type {
  PushAttemptResult,
  RpcSpan,
  TracedDeliveryMethod,
  TraceScope,
  Tracing,
} from "../app/ports/tracing.js";
import type { Message } from "../domain/message.js";
import { HERALD_VERSION } from "../version.js";
import {
  decodeTraceContext,
  encodeTraceContext,
  spanContextFromHeaders,
  traceHeadersOf,
} from "./trace-context-codec.js";

/** The attribute prefix Google's Pub/Sub clients carry a message's W3C context under (googclient_traceparent). */
const PUBSUB_CONTEXT_PREFIX = "googclient_";
/** As the SDK's default link limit: a larger batch links to its first 128 distinct publishes. */
const MAX_LINKS = 128;
/** gRPC codes that mean the server failed (OpenTelemetry's RPC conventions); client errors leave the status unset. */
const SERVER_ERROR_CODES = new Set([2, 4, 12, 13, 14, 15]);

class OtelScope implements TraceScope {
  readonly traceScope = true;
  constructor(readonly context: Context) {}
}

export class OtelTracing implements Tracing {
  readonly isEnabled = true;
  private readonly current = new AsyncLocalStorage<Context>();
  private readonly tracer: Tracer;

  constructor(
    private readonly provider: BasicTracerProvider,
    private readonly databaseSystem: "mysql" | "sqlite",
  ) {
    this.tracer = provider.getTracer("herald", HERALD_VERSION);
  }

  startRpc(procedure: string, header: (name: string) => string | null): RpcSpan {
    const remote = spanContextFromHeaders(header);
    const parent = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
    const slash = procedure.lastIndexOf("/");
    const span = this.tracer.startSpan(
      procedure,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": header("content-type")?.startsWith("application/grpc") ? "grpc" : "connect_rpc",
          "rpc.service": procedure.slice(0, slash),
          "rpc.method": procedure.slice(slash + 1),
        },
      },
      parent,
    );
    const context = trace.setSpan(parent, span);
    return {
      run: (work) => this.current.run(context, work),
      end: (grpcCode, message) => {
        span.setAttribute("rpc.grpc.status_code", grpcCode);
        if (SERVER_ERROR_CODES.has(grpcCode)) {
          span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
        }
        span.end();
      },
    };
  }

  publishContexts(
    messages: readonly { attributes: Readonly<Record<string, string>> }[],
  ): (string | undefined)[] {
    let ofCurrent: string | undefined | null = null;
    return messages.map(({ attributes }) => {
      if (attributes[`${PUBSUB_CONTEXT_PREFIX}traceparent`] !== undefined) {
        const own = spanContextFromHeaders((name) => attributes[`${PUBSUB_CONTEXT_PREFIX}${name}`]);
        if (own) return encodeTraceContext(own);
      }
      if (ofCurrent === null) {
        const spanContext = trace.getSpanContext(this.current.getStore() ?? ROOT_CONTEXT);
        ofCurrent = spanContext ? encodeTraceContext(spanContext) : undefined;
      }
      return ofCurrent;
    });
  }

  capture(): TraceScope | undefined {
    const context = this.current.getStore();
    return context && trace.getSpan(context) ? new OtelScope(context) : undefined;
  }

  resume<T>(scope: TraceScope | undefined, work: () => T): T {
    return this.current.run(scope instanceof OtelScope ? scope.context : ROOT_CONTEXT, work);
  }

  async deliver<T>(
    method: Exclude<TracedDeliveryMethod, "push">,
    subscription: string,
    claim: () => Promise<T>,
    messagesOf: (result: T) => readonly Message[],
  ): Promise<T> {
    const parent = this.recordingContext();
    if (parent === undefined) return claim();
    // Made once the claim returned messages: claims that find nothing (several streams woken by
    // one publish, an empty Pull) make no span. The claim's database spans are the RPC's children.
    const startTime = new Date();
    const result = await claim();
    const messages = messagesOf(result);
    if (messages.length === 0) return result;
    const span = this.tracer.startSpan(
      `deliver ${subscription}`,
      {
        kind: SpanKind.INTERNAL,
        startTime,
        attributes: {
          "messaging.system": "herald",
          "messaging.operation.type": "receive",
          "messaging.destination.subscription.name": subscription,
          "messaging.batch.message_count": messages.length,
          "herald.delivery.method": method,
          ...(messages.length === 1 ? { "messaging.message.id": String(messages[0]?.id) } : {}),
        },
        links: linksTo(messages),
      },
      parent,
    );
    span.end();
    return result;
  }

  async push<T extends PushAttemptResult>(
    subscription: string,
    message: Message,
    url: string,
    send: (traceHeaders: Readonly<Record<string, string>>) => Promise<T>,
  ): Promise<T> {
    // The push continues the publisher's trace, so the receiver's spans join it.
    const published = message.traceContext ? decodeTraceContext(message.traceContext) : undefined;
    const parent = published ? trace.setSpanContext(ROOT_CONTEXT, published) : ROOT_CONTEXT;
    const target = safeUrl(url);
    const span = this.tracer.startSpan(
      `deliver ${subscription}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "messaging.system": "herald",
          "messaging.operation.type": "send",
          "messaging.destination.subscription.name": subscription,
          "messaging.message.id": String(message.id),
          "herald.delivery.method": "push",
          [ATTR_HTTP_REQUEST_METHOD]: "POST",
          ...(target ? { [ATTR_SERVER_ADDRESS]: target.hostname, [ATTR_SERVER_PORT]: target.port } : {}),
        },
        ...(published ? { links: [{ context: published }] } : {}),
      },
      parent,
    );
    try {
      const result = await this.current.run(trace.setSpan(parent, span), () =>
        send(traceHeadersOf(span.spanContext())),
      );
      if (result.status !== null) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.status);
      if (result.status === null || result.status >= 400) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${result.status ?? "no response"}` });
      }
      return result;
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * Runs `work` (one repository call or a transaction) in a database span under the current
   * span; with no current recording span (background loops) it only runs `work`.
   */
  async database<T>(operation: string, work: () => Promise<T>): Promise<T> {
    const parent = this.recordingContext();
    if (parent === undefined) return work();
    const span = this.tracer.startSpan(
      `db ${operation}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { [ATTR_DB_SYSTEM_NAME]: this.databaseSystem, [ATTR_DB_OPERATION_NAME]: operation },
      },
      parent,
    );
    try {
      return await this.current.run(trace.setSpan(parent, span), work);
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /** Exports what is buffered and stops the exporter (on server stop). */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }

  private recordingContext(): Context | undefined {
    const context = this.current.getStore();
    return context !== undefined && trace.getSpan(context)?.isRecording() ? context : undefined;
  }
}

/** One link per distinct publish among the messages, at most MAX_LINKS. */
function linksTo(messages: readonly Message[]): Link[] {
  const seen = new Map<string, SpanContext>();
  for (const m of messages) {
    if (seen.size >= MAX_LINKS) break;
    if (!m.traceContext) continue;
    const context = decodeTraceContext(m.traceContext);
    if (context) seen.set(`${context.traceId}-${context.spanId}`, context);
  }
  return [...seen.values()].map((context) => ({ context }));
}

function failed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** Host and port only: a webhook URL's path and query may carry secrets. */
function safeUrl(raw: string): { hostname: string; port: number } | undefined {
  try {
    const url = new URL(raw);
    return {
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80,
    };
  } catch {
    return undefined;
  }
}
