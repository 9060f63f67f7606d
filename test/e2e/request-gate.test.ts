/**
 * H3: request bodies are not read before authentication, every body has a deadline, the bytes held
 * across the server are capped, and so are connections. Transport only: one SQLite database.
 */
import http2 from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import {
  type TestDatabase,
  type TestDatabaseTarget,
  testDatabaseTargets,
} from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const ADMIN_TOKEN = "gate-admin-token-0123456789";
const MiB = 1024 * 1024;
const sqlite = testDatabaseTargets().find((t) => t.kind === "sqlite") as TestDatabaseTarget;

/** A gRPC envelope header announcing a message of `length` bytes. */
function envelopeHeader(length: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(length, 1);
  return header;
}

interface OpenCall {
  stream: http2.ClientHttp2Stream;
  /** Response headers, once they came. */
  response: Promise<http2.IncomingHttpHeaders>;
  /** Resolves with the RST_STREAM code (0 for a clean end) when the stream closes. */
  closed: Promise<number>;
  /** Writes `bytes` of body in 64 KiB chunks, waiting for flow control; stops when the stream ends. */
  write(bytes: number): Promise<void>;
}

function openCall(
  session: http2.ClientHttp2Session,
  path: string,
  headers: Record<string, string>,
): OpenCall {
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  stream.on("error", () => {});
  const response = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("response", resolve));
  const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? 0)));
  stream.resume();
  return {
    stream,
    response,
    closed,
    async write(bytes) {
      const chunk = Buffer.alloc(64 * 1024);
      let left = bytes;
      while (left > 0 && !stream.closed && !stream.destroyed) {
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
        const drained = new Promise<boolean>((resolve) => {
          if (stream.write(part)) resolve(true);
          else {
            const onDrain = () => resolve(true);
            stream.once("drain", onDrain);
            const onClose = () => resolve(false);
            stream.once("close", onClose);
            stream.once("drain", () => stream.off("close", onClose));
          }
        });
        if (!(await drained)) break;
        left -= part.length;
      }
    },
  };
}

describe("request gate", () => {
  let db: TestDatabase | undefined;
  let t: TestServer | undefined;
  const sessions: http2.ClientHttp2Session[] = [];

  async function start(env: Record<string, string> = {}): Promise<TestServer> {
    db = await sqlite.create();
    t = await startTestServer(db, {}, { env: { HERALD_ADMIN_TOKENS: ADMIN_TOKEN, ...env } });
    return t;
  }
  function connect(server: TestServer): http2.ClientHttp2Session {
    const session = http2.connect(server.server.url, { maxSessionMemory: 256 });
    session.on("error", () => {});
    sessions.push(session);
    return session;
  }

  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy();
    await t?.stop();
    await db?.drop();
    t = undefined;
    db = undefined;
  });

  it("answers an unauthenticated 12 MiB publish UNAUTHENTICATED without reading its body", async () => {
    const server = await start();
    const session = connect(server);
    const call = openCall(session, "/herald.v1.PublisherService/Publish", {});
    void call.write(5 + 12 * MiB - 64);
    const headers = await call.response;
    await call.closed;
    expect(Number(headers["grpc-status"])).toBe(Code.Unauthenticated);
    // The server answered from the headers and never read the body: only what one stream's
    // flow-control window allows went over the wire (HTTP/2 sends no DATA beyond it).
    expect(session.socket.bytesWritten).toBeLessThan(MiB);
    expect(server.server.bufferedRequestBytes()).toBe(0);
  });

  it("answers unauthenticated calls in the Connect and gRPC-Web protocols too", async () => {
    const server = await start();
    for (const transport of [
      createConnectTransport({ baseUrl: server.server.url, httpVersion: "2" }),
      createGrpcWebTransport({ baseUrl: server.server.url, httpVersion: "2" }),
    ]) {
      const publisher = createClient(PublisherService, transport);
      const error = await publisher.publish({ publisher: "p", topic: "t" }).catch((e) => e);
      expect(ConnectError.from(error).code).toBe(Code.Unauthenticated);
    }
  });

  it("cuts a body that does not arrive within HERALD_REQUEST_BODY_TIMEOUT_MS", async () => {
    const server = await start({ HERALD_REQUEST_BODY_TIMEOUT_MS: "300" });
    const call = openCall(connect(server), "/herald.v1.PublisherService/Publish", {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    call.stream.write(envelopeHeader(MiB));
    await call.write(100 * 1024);
    // The client stalls with 924 KiB still owed; the server must not wait for ever.
    const rstCode = await call.closed;
    expect(rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(server.server.bufferedRequestBytes()).toBe(0);
  });

  it("cuts unfinished bodies past HERALD_MAX_BUFFERED_REQUEST_BYTES with RESOURCE_EXHAUSTED", async () => {
    const server = await start({ HERALD_MAX_BUFFERED_REQUEST_BYTES: String(8 * MiB) });
    const session = connect(server);
    const calls: OpenCall[] = [];
    let peak = 0;
    // 20 streams each send 1 MiB of an 11 MiB message and stall (the review held 220 MiB like this).
    for (let i = 0; i < 20; i++) {
      const call = openCall(session, "/herald.v1.PublisherService/Publish", {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      });
      call.stream.write(envelopeHeader(11 * MiB));
      await Promise.race([call.write(MiB), call.closed]);
      peak = Math.max(peak, server.server.bufferedRequestBytes());
      calls.push(call);
    }
    expect(peak).toBeLessThanOrEqual(8 * MiB + 64 * 1024);
    const cut = [];
    for (const call of calls) {
      if (call.stream.closed) cut.push(await call.closed);
    }
    expect(cut.length).toBeGreaterThanOrEqual(12);
    expect(cut.every((code) => code === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM)).toBe(true);
    for (const call of calls) call.stream.close(http2.constants.NGHTTP2_CANCEL);
    await Promise.all(calls.map((c) => c.closed));
    await expect.poll(() => server.server.bufferedRequestBytes()).toBe(0);
  });

  it("names every registered RPC in the access table and refuses each non-public one without credentials", async () => {
    const server = await start();
    const routes = server.server.routes();
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter((r) => !r.isListed).map((r) => r.path)).toEqual([]);
    const publicServices = new Set(
      routes.filter((r) => r.access === "public").map((r) => r.path.split("/")[1]),
    );
    expect([...publicServices].sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
    const session = connect(server);
    for (const route of routes.filter((r) => r.access !== "public")) {
      const call = openCall(session, route.path, {});
      call.stream.end(envelopeHeader(0));
      const headers = await call.response;
      expect([route.path, Number(headers["grpc-status"])]).toEqual([route.path, Code.Unauthenticated]);
      await call.closed;
    }
  });

  it("holds HERALD_MAX_CONNECTIONS: a connection over the cap is closed, one under it works", async () => {
    const server = await start({ HERALD_MAX_CONNECTIONS: "2" });
    const ping = (session: http2.ClientHttp2Session) =>
      new Promise<boolean>((resolve) => {
        session.once("close", () => resolve(false));
        session.once("error", () => resolve(false));
        const send = () => session.ping((error) => resolve(error === null));
        if (session.connecting) session.once("connect", send);
        else send();
      });
    const first = connect(server);
    const second = connect(server);
    expect(await ping(first)).toBe(true);
    expect(await ping(second)).toBe(true);
    expect(await ping(connect(server))).toBe(false);
    first.destroy();
    await expect.poll(async () => ping(connect(server)), { timeout: 5_000 }).toBe(true);
  });
});
