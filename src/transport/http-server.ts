import { readFileSync } from "node:fs";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { TransportConfig } from "../config/config.js";

type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

export interface HttpServer {
  /** Base URL, e.g. https://127.0.0.1:8443. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting; asks sessions to close and cuts them after `graceMs`. */
  close(graceMs: number): Promise<void>;
}

/**
 * The one listening port: HTTP/2 cleartext (gRPC, gRPC-Web, Connect), or with TLS HTTP/2 and
 * HTTP/1.1 side by side through ALPN (so browsers and Connect JSON clients work), optionally
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

  // Beyond this many sockets Node closes new ones on accept: every connection may hold up to
  // maxStreamsPerConnection streams, each with its flow-control window of unread bytes.
  server.maxConnections = config.maxConnections;
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
    (server as unknown as { headersTimeout: number }).headersTimeout = 30_000;
  }
  server.setTimeout?.(0);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  return {
    url: `${tls ? "https" : "http"}://${hostForUrl}:${bound}`,
    port: bound,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      // Clients may hold sessions open; after the grace period they are cut.
      const grace = setTimeout(() => {
        for (const session of sessions) session.destroy();
      }, graceMs);
      await closed;
      clearTimeout(grace);
    },
  };
}
