import type http from "node:http";
import type http2 from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import {
  codeToHttpStatus,
  endStreamFlag,
  endStreamToJson,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

const GRPC = /^application\/grpc(?:\+(?:proto|json)(?:;.*)?)?$/i;
const GRPC_WEB = /^application\/grpc-web(?:-text)?(?:\+(?:proto|json)(?:;.*)?)?$/i;
const CONNECT_STREAM = /^application\/connect\+(?:proto|json)(?:;.*)?$/i;
const CONNECT_UNARY = /^application\/(?:proto|json)(?:;.*)?$/i;

/**
 * Answers a call with `error` in the protocol the client speaks (gRPC and gRPC-Web: trailers-only
 * status; Connect: its JSON error, or an end-stream message for streams) WITHOUT reading the
 * request body — the point is to refuse a request before its body costs memory. connect would read
 * the whole unary body before any interceptor runs. An unknown content type gets 415, as connect
 * answers it.
 */
export function writeEarlyRejection(req: NodeRequest, res: NodeResponse, error: ConnectError): void {
  const contentType = String(req.headers["content-type"] ?? "");
  if (req.method === "GET" || CONNECT_UNARY.test(contentType)) {
    const body = errorToJsonBytes(error, {});
    res.writeHead(codeToHttpStatus(error.code), {
      "content-type": "application/json",
      "content-length": String(body.length),
    });
    res.end(Buffer.from(body));
  } else if (CONNECT_STREAM.test(contentType)) {
    const json = Buffer.from(JSON.stringify(endStreamToJson(new Headers(), error, {})));
    const frame = Buffer.alloc(5 + json.length);
    frame[0] = endStreamFlag;
    frame.writeUInt32BE(json.length, 1);
    json.copy(frame, 5);
    res.writeHead(200, { "content-type": contentType });
    res.end(frame);
  } else if (GRPC.test(contentType) || GRPC_WEB.test(contentType)) {
    // Trailers-only: the status travels in the response headers and the stream ends with them.
    const status = setTrailerStatus(new Headers(), error);
    const headers: Record<string, string> = { "content-type": contentType };
    status.forEach((value, name) => {
      headers[name] = value;
    });
    res.writeHead(200, headers);
    res.end();
  } else {
    res.writeHead(415, { "content-type": "text/plain; charset=utf-8" });
    res.end("unsupported content type\n");
  }
}
