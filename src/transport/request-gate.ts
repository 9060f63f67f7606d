import type http from "node:http";
import http2 from "node:http2";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Principal } from "../app/auth/principal.js";
import { isAccessListed, type RouteAccess, routeAccess } from "./authentication.js";
import { writeEarlyRejection } from "./early-rejection.js";
import { BodyTracker } from "./request-body-tracker.js";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** A registered RPC as the gate needs it. */
export interface GatedRoute {
  /** "herald.v1.PublisherService/Publish". */
  procedure: string;
  access: RouteAccess;
  /** Whether the access table names it (else it fell back to admin). */
  isListed: boolean;
  /** Client or bidi streaming: the body is a sequence of messages, not one. */
  isRequestStreaming: boolean;
}

/** The gate's view of a method connect registered. */
export function gatedRouteOf(service: DescService, method: DescMethod): GatedRoute {
  return {
    procedure: `${service.typeName}/${method.name}`,
    access: routeAccess(service.typeName, method.name),
    isListed: isAccessListed(service.typeName, method.name),
    isRequestStreaming: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
  };
}

export interface RequestGateOptions {
  /** Every registered RPC by its request path ("/herald.v1.PublisherService/Publish"). */
  routes: ReadonlyMap<string, GatedRoute>;
  /** Authenticates and authorizes from the `authorization` header; undefined for public routes. */
  authorize(access: RouteAccess, authorization: string | null): Promise<Principal | undefined>;
  /** Turns whatever `authorize` threw into the error the client sees. */
  toError(error: unknown, procedure: string): ConnectError;
  /** Most request body bytes held across the server (not yet a complete message), bytes. */
  maxBufferedBytes: number;
  /** Longest a request body (unary, server streaming) or one message of a stream may take to arrive, ms. */
  bodyTimeoutMs: number;
  /** A call answered or cut by the gate itself, for logs and metrics. */
  onRefused?(procedure: string, reason: "unauthorized" | "buffer_full" | "body_timeout", code: Code): void;
}

/**
 * The outermost handler, in front of connect and the unary fast path. It authenticates a call from
 * its headers BEFORE anything reads the body (an unauthorized request never gets past the
 * HTTP/2 flow-control window of its stream), counts the request bytes every stream holds against
 * one server-wide budget (RESOURCE_EXHAUSTED past it), and cuts a body that does not arrive within
 * the deadline — a stream with an unfinished body would otherwise hold its memory and keep its
 * connection from ever being idle. The principal it established travels on to the handlers through
 * `principalOf(req)` (connect's contextValues).
 */
export class RequestGate {
  private bufferedBytes = 0;
  private readonly principals = new WeakMap<NodeRequest, Principal>();

  constructor(private readonly options: RequestGateOptions) {}

  /** Request body bytes currently held across all calls. */
  get bufferedRequestBytes(): number {
    return this.bufferedBytes;
  }

  /** The principal the gate authenticated for `req`, if any. */
  principalOf(req: NodeRequest): Principal | undefined {
    return this.principals.get(req);
  }

  wrap<Req extends NodeRequest, Res extends NodeResponse>(
    next: (req: Req, res: Res) => void,
  ): (req: Req, res: Res) => void {
    return (req, res) => {
      const route = this.options.routes.get((req.url ?? "").split("?", 1)[0] ?? "");
      if (route === undefined) {
        next(req, res);
        return;
      }
      const tracker = this.track(req, res, route);
      if (this.bufferedBytes >= this.options.maxBufferedBytes) {
        this.refuse(req, res, route, "buffer_full", this.bufferFullError());
        return;
      }
      if (route.access === "public") {
        next(req, res);
        return;
      }
      const authorization = req.headers.authorization ?? null;
      this.options.authorize(route.access, authorization).then(
        (principal) => {
          if (res.destroyed || tracker.isCut) return;
          if (principal !== undefined) this.principals.set(req, principal);
          next(req, res);
        },
        (error: unknown) => {
          if (res.destroyed || tracker.isCut) return;
          this.refuse(req, res, route, "unauthorized", this.options.toError(error, route.procedure));
        },
      );
    };
  }

  private track(req: NodeRequest, res: NodeResponse, route: GatedRoute): BodyTracker {
    const stream = "stream" in req ? req.stream : undefined;
    const contentType = String(req.headers["content-type"] ?? "");
    const tracker = new BodyTracker({
      // Envelopes are parsed only where a body carries several messages (StreamingPull); a unary
      // body counts as one message until it ends.
      isFramed: route.isRequestStreaming && /^application\/(?:grpc|connect\+)/i.test(contentType),
      timeoutMs: this.options.bodyTimeoutMs,
      onBytes: (delta) => {
        this.bufferedBytes += delta;
        if (delta > 0 && this.bufferedBytes > this.options.maxBufferedBytes) {
          this.cut(req, route, tracker, "buffer_full");
        }
      },
      onTimeout: () => this.cut(req, route, tracker, "body_timeout"),
    });
    // Count what enters the request's buffer by watching `push`, the one door Node's HTTP/2
    // compatibility layer and HTTP/1.1 parser put body bytes through. A 'data' listener on the
    // stream would itself start reading the body — before authentication, the very thing to avoid.
    const push = req.push.bind(req);
    req.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (chunk === null) tracker.ended();
      else if (Buffer.isBuffer(chunk)) tracker.received(chunk);
      return push(chunk, encoding);
    };
    if (stream !== undefined) stream.once("close", () => tracker.closed());
    else res.once("close", () => tracker.closed());
    return tracker;
  }

  private bufferFullError(): ConnectError {
    return new ConnectError(
      "the server holds too many request bytes; retry later (HERALD_MAX_BUFFERED_REQUEST_BYTES)",
      Code.ResourceExhausted,
    );
  }

  /** Answers the call itself, without reading the body, and stops the client sending the rest. */
  private refuse(
    req: NodeRequest,
    res: NodeResponse,
    route: GatedRoute,
    reason: "unauthorized" | "buffer_full",
    error: ConnectError,
  ): void {
    this.options.onRefused?.(route.procedure, reason, error.code);
    writeEarlyRejection(req, res, error);
    // HTTP/2: a stream answered before anything read its body is closed by Node right after the
    // answer with RST_STREAM(NO_ERROR), which tells the client to stop sending (RFC 9113 §8.1).
    // HTTP/1.1 would read the unread body to reach the next request: close the connection instead.
    if (!("stream" in req)) res.once("finish", () => req.socket.destroy());
  }

  /**
   * Ends a call whose handler may already be running: the stream is reset — ENHANCE_YOUR_CALM
   * (clients report RESOURCE_EXHAUSTED) past the byte budget, CANCEL after the body deadline.
   */
  private cut(
    req: NodeRequest,
    route: GatedRoute,
    tracker: BodyTracker,
    reason: "buffer_full" | "body_timeout",
  ) {
    if (tracker.isCut) return;
    tracker.cut();
    this.options.onRefused?.(
      route.procedure,
      reason,
      reason === "buffer_full" ? Code.ResourceExhausted : Code.Canceled,
    );
    if ("stream" in req) {
      req.stream.close(
        reason === "buffer_full" ? http2.constants.NGHTTP2_ENHANCE_YOUR_CALM : http2.constants.NGHTTP2_CANCEL,
      );
    } else {
      req.socket.destroy();
    }
  }
}
