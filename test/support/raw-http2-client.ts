/**
 * A deliberately dumb HTTP/2 client for hostile-input tests: it sends exactly the bytes and headers
 * it is given (truncated gRPC frames, lying length prefixes, wrong content types, invalid JSON) and
 * reports exactly what came back, including resets and silence. Decoding of gRPC trailers and
 * Connect error bodies lives in `rpc-outcome.ts`.
 */
import http2 from "node:http2";
import { heraldCallHeaders } from "./herald-clients.js";

export interface RawRequest {
  /** e.g. "/herald.v1.AdminService/GetTopic". */
  path: string;
  /** Default POST. */
  method?: string;
  /** Request headers besides :method and :path; the call headers of `heraldCallHeaders()` are added. */
  headers: Record<string, string>;
  /** The request body, sent as is (several chunks are written one after the other). */
  body: Uint8Array | readonly Uint8Array[];
  /** How long to wait for the complete response before giving up, ms. Default 15 000. */
  timeoutMs?: number;
}

export interface RawResponse {
  /** HTTP status; 0 when no response headers arrived. */
  httpStatus: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: Buffer;
  /** Set when the stream or session failed before the response was complete (e.g. RST_STREAM). */
  transportError?: string;
  /** True when nothing complete arrived within the timeout. */
  timedOut: boolean;
  /** True when this request's connection was torn down (GOAWAY or close) while it ran. */
  sessionLost: boolean;
}

function plainHeaders(headers: http2.IncomingHttpHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

/** One HTTP/2 connection to `baseUrl`, reopened transparently when a request kills it. */
export class RawHttp2Client {
  private session: http2.ClientHttp2Session | undefined;
  private closing = false;
  /** Connections that ended (GOAWAY or close) while this client still used them. */
  sessionsLost = 0;

  constructor(private readonly baseUrl: string) {}

  private currentSession(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    // Generous client limits, so what the test sees is what the server sent: Node's defaults would
    // refuse a 13 MiB request body (10 MB session memory) or a large trailer on the client side.
    const session = http2.connect(this.baseUrl, {
      maxSessionMemory: 256,
      settings: { maxHeaderListSize: 64 * 1024 * 1024 },
    });
    // Errors surface on the streams; an unhandled session error would crash the worker.
    session.on("error", () => {});
    let ended = false;
    const onEnd = () => {
      if (ended || this.closing) return;
      ended = true;
      this.sessionsLost += 1;
    };
    session.once("goaway", onEnd);
    session.once("close", onEnd);
    this.session = session;
    return session;
  }

  request(req: RawRequest): Promise<RawResponse> {
    const session = this.currentSession();
    const timeoutMs = req.timeoutMs ?? 15_000;
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const response: RawResponse = {
        httpStatus: 0,
        headers: {},
        trailers: {},
        body: Buffer.alloc(0),
        timedOut: false,
        sessionLost: false,
      };
      let settled = false;
      const onSessionGone = () => {
        response.sessionLost = true;
      };
      session.once("goaway", onSessionGone);
      session.once("close", onSessionGone);
      const stream = session.request({
        ":method": req.method ?? "POST",
        ":path": req.path,
        ...req.headers,
        ...heraldCallHeaders(),
      });
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        session.off("goaway", onSessionGone);
        session.off("close", onSessionGone);
        response.body = Buffer.concat(chunks);
        resolve(response);
      };
      const timer = setTimeout(() => {
        response.timedOut = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
        finish();
      }, timeoutMs);
      stream.on("response", (headers) => {
        response.httpStatus = Number(headers[":status"] ?? 0);
        response.headers = plainHeaders(headers);
      });
      stream.on("trailers", (trailers) => {
        response.trailers = plainHeaders(trailers);
      });
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      // The whole response is in once the readable side ends. If the server stopped reading our
      // request body, its flow-control window never reopens and the stream would not close: cancel
      // it then, and only then (a reset of every finished stream counts as an invalid frame, and Node
      // drops the connection after 1000 of them).
      stream.on("end", () => {
        if (!stream.closed && !stream.writableFinished) stream.close(http2.constants.NGHTTP2_CANCEL);
        finish();
      });
      stream.on("error", (error: Error) => {
        // Writing the rest of a request the server already answered fails harmlessly; keep the answer.
        response.transportError ??= `${(error as NodeJS.ErrnoException).code ?? "error"}: ${error.message}`;
      });
      stream.on("close", () => {
        if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
          response.transportError ??= `stream reset with code ${stream.rstCode}`;
        }
        finish();
      });
      const body = req.body instanceof Uint8Array ? [req.body] : req.body;
      for (const chunk of body) stream.write(chunk);
      stream.end();
    });
  }

  close(): void {
    this.closing = true;
    this.session?.close();
    this.session = undefined;
  }
}
