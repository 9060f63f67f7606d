import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import type { TransportConfig } from "../config/config.js";
import { splitCleartextProtocols } from "./cleartext-protocol-split.js";

type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

export interface HttpServer {
  /** Base URL, e.g. https://127.0.0.1:8443. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting; asks sessions to close and cuts them after `graceMs`. */
  close(graceMs: number): Promise<void>;
}

/** Longest an HTTP/1.1 request's headers, or a new connection's first bytes, may take to arrive, ms. */
const HEADERS_TIMEOUT_MS = 30_000;

/**
 * The one listening port, serving HTTP/2 and HTTP/1.1 side by side (gRPC, gRPC-Web, Connect, and
 * browsers for the console): cleartext, each connection goes to the HTTP/2 server when it starts
 * with the HTTP/2 preface (h2c with prior knowledge) and to an HTTP/1.1 server with the same
 * handler otherwise; with TLS, ALPN picks the protocol. Optionally
 * requiring client certificates. Limits keep one client from exhausting the server: connections,
 * concurrent streams per connection, header list size, session memory, and idle connections closed after
 * `idleTimeoutMs` when they carry no open stream (a quiet Subscribe stream is not idle).
 */
export async function startHttpServer(
  host: string,
  port: number,
  config: TransportConfig,
  handler: Handler,
): Promise<HttpServer> {
  const settings: http2.Settings = {
    maxConcurrentStreams: config.maxStreamsPerConnection,
    maxHeaderListSize: config.maxHeaderBytes,
  };
  // Node's default of 10 MB per session would reset connections carrying one maximal publish.
  const common = { maxSessionMemory: 64, settings, maxHeaderListPairs: 128 };
  const tls = config.tls;
  const server: http2.Http2Server | http2.Http2SecureServer = tls
    ? http2.createSecureServer(
        {
          ...common,
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          allowHTTP1: true,
          ...(tls.clientCaFile
            ? { ca: readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: true }
            : {}),
        },
        handler,
      )
    : http2.createServer(common, handler);
  // Cleartext: this socket server accepts every connection and splits them by protocol.
  const http1 = tls ? undefined : createHttp1Server(config, handler);
  const listener: net.Server = http1
    ? net.createServer((socket) =>
        splitCleartextProtocols(socket, { http2: server as http2.Http2Server, http1 }, HEADERS_TIMEOUT_MS),
      )
    : server;

  // Beyond this many sockets Node closes new ones on accept: every connection may hold up to
  // maxStreamsPerConnection streams, each with its flow-control window of unread bytes.
  listener.maxConnections = config.maxConnections;
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (session: http2.Http2Session) => {
    sessions.add(session);
    let openStreams = 0;
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      openStreams += 1;
      stream.once("close", () => {
        openStreams -= 1;
      });
    });
    session.setTimeout(config.idleTimeoutMs, () => {
      if (openStreams === 0) session.close();
    });
    session.once("close", () => sessions.delete(session));
  });
  // HTTP/1.1 over TLS: bounded header and keep-alive times.
  if ("headersTimeout" in server) {
    (server as unknown as { headersTimeout: number }).headersTimeout = HEADERS_TIMEOUT_MS;
  }
  server.setTimeout?.(0);

  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(port, host, () => {
      listener.off("error", reject);
      resolve();
    });
  });
  const bound = (listener.address() as AddressInfo).port;
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  return {
    url: `${tls ? "https" : "http"}://${hostForUrl}:${bound}`,
    port: bound,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const session of sessions) session.close();
      // Stops the connection tracking and closes idle keep-alive connections (it reports, harmlessly,
      // that this server was not listening: the socket server above is the one that listens).
      http1?.close(() => {});
      // Clients may hold sessions open; after the grace period they are cut.
      const grace = setTimeout(() => {
        for (const session of sessions) session.destroy();
        http1?.closeAllConnections();
      }, graceMs);
      await closed;
      clearTimeout(grace);
    },
  };
}

/**
 * HTTP/1.1 on the cleartext port: bounded headers and header time; a connection idle between
 * requests is closed after keepAliveTimeout (a long response stream is not idle).
 */
function createHttp1Server(config: TransportConfig, handler: Handler): http.Server {
  const http1 = http.createServer(
    {
      maxHeaderSize: config.maxHeaderBytes,
      headersTimeout: HEADERS_TIMEOUT_MS,
      // Bodies are timed by the request gate (HERALD_REQUEST_BODY_TIMEOUT_MS), per call.
      requestTimeout: 0,
      keepAliveTimeout: 5_000,
    },
    handler as unknown as http.RequestListener,
  );
  http1.maxHeadersCount = 128;
  // Node starts tracking HTTP/1.1 connections (the headersTimeout checks, closeIdleConnections) on
  // 'listening'. This server never listens itself — the socket server hands it its connections —
  // so it is told it does; http1.close() stops the tracking again.
  http1.emit("listening");
  return http1;
}
