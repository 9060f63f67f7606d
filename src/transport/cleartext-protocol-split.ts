import type http from "node:http";
import type http2 from "node:http2";
import type { Socket } from "node:net";

/** The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4). */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Hands each cleartext connection to the HTTP/2 server (h2c with prior knowledge: gRPC, Connect
 * over HTTP/2) or to the HTTP/1.1 server (browsers, curl without --http2-prior-knowledge) by its
 * first bytes: a connection that starts with the HTTP/2 preface is HTTP/2, anything else HTTP/1.1.
 * A connection that sends nothing decisive within `firstBytesTimeoutMs` is closed.
 */
export function splitCleartextProtocols(
  socket: Socket,
  servers: { http2: http2.Http2Server; http1: http.Server },
  firstBytesTimeoutMs: number,
): void {
  let seen: Buffer = Buffer.alloc(0);
  const decide = (isHttp2: boolean) => {
    socket.off("data", onData);
    socket.off("error", onError);
    socket.setTimeout(0);
    socket.off("timeout", onTimeout);
    socket.pause();
    // Both servers read what was already taken off the socket before its further bytes.
    socket.unshift(seen);
    if (isHttp2) servers.http2.emit("connection", socket);
    else {
      servers.http1.emit("connection", socket);
      socket.resume();
    }
  };
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, HTTP2_PREFACE.length);
    const isPrefaceSoFar = seen.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (!isPrefaceSoFar) decide(false);
    else if (seen.length >= HTTP2_PREFACE.length) decide(true);
    // Otherwise a prefix of the preface: wait for more (at most 24 bytes are ever held here).
  };
  const onError = () => socket.destroy();
  const onTimeout = () => socket.destroy();
  socket.on("data", onData);
  socket.on("error", onError);
  socket.setTimeout(firstBytesTimeoutMs);
  socket.on("timeout", onTimeout);
}
