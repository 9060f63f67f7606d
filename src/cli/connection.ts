/**
 * The generated connect clients the CLI calls, over gRPC on HTTP/2 (TLS for https:// URLs), with
 * `authorization: Bearer <token>` when a token is given. No second API: every command is one of these.
 */
import { readFileSync } from "node:fs";
import type { SecureClientSessionOptions } from "node:http2";
import { type CallOptions, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { DeadLetterService } from "../../gen/herald/v1/dead_letter_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";
import { EXIT_FAILURE, ExitError, UsageError } from "./exit-codes.js";

export interface ConnectionOptions {
  /** Base URL, http:// (cleartext HTTP/2) or https:// (TLS). */
  server: string;
  /** Admin token or API key; omitted when empty. */
  token?: string;
  /** PEM file of the CA that signed the server's certificate (default: the system's CAs). */
  ca?: string;
  /** PEM client certificate and key, for servers that require mTLS (HERALD_TLS_CLIENT_CA). */
  cert?: string;
  key?: string;
  /** Deadline of each unary call, ms; streams (tail) have none. */
  timeoutMs: number;
}

function readPem(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ExitError(`cannot read ${option} ${file}: ${(error as Error).message}`, EXIT_FAILURE);
  }
}

function parseServerUrl(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server must be a URL such as http://127.0.0.1:8085, got "${server}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--server must start with http:// or https://, got "${server}"`);
  }
  return url;
}

/** The clients of every Herald service plus grpc.health.v1, and `close()` to end the HTTP/2 session. */
export function connect(options: ConnectionOptions) {
  const url = parseServerUrl(options.server);
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new UsageError("--cert and --key must be given together");
  }
  const tls: SecureClientSessionOptions = {};
  if (options.ca !== undefined) tls.ca = readPem("--ca", options.ca);
  if (options.cert !== undefined) tls.cert = readPem("--cert", options.cert);
  if (options.key !== undefined) tls.key = readPem("--key", options.key);
  const baseUrl = url.toString().replace(/\/$/, "");
  const sessionManager = new Http2SessionManager(baseUrl, {}, tls);
  const interceptors: Interceptor[] = [];
  const token = options.token?.trim();
  if (token) {
    interceptors.push((next) => (request) => {
      request.header.set("authorization", `Bearer ${token}`);
      return next(request);
    });
  }
  const transport = createGrpcTransport({ baseUrl, sessionManager, interceptors });
  return {
    admin: createClient(AdminService, transport),
    publisher: createClient(PublisherService, transport),
    subscriber: createClient(SubscriberService, transport),
    deadLetters: createClient(DeadLetterService, transport),
    health: createClient(Health, transport),
    /** Options for unary calls: the --timeout deadline. */
    unary: { timeoutMs: options.timeoutMs } satisfies CallOptions,
    /** Ends the HTTP/2 session so the process can exit. */
    close: () => sessionManager.abort(),
  };
}

export type HeraldConnection = ReturnType<typeof connect>;
