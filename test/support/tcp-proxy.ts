/**
 * A TCP proxy on 127.0.0.1:0 in front of a real server (MariaDB in the outage tests) that a test can
 * cut and restore: cutting destroys every open connection and refuses new ones (or holds them
 * silent), restoring lets new connections through again on the same port.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

/**
 * How a cut looks to clients. `refuse`: the port stops listening (ECONNREFUSED), as a stopped server.
 * `reset`: connections are accepted and destroyed at once. `blackhole`: connections are accepted and
 * never answered, and open ones stop forwarding without closing, as a network partition.
 */
export type CutMode = "refuse" | "reset" | "blackhole";

/** Which way a chunk travels: from the client to the upstream server, or back. */
export type ProxyDirection = "to-upstream" | "to-client";

/**
 * Sees every chunk before it is forwarded. Return `"drop"` to forward nothing (the proxy may have
 * been cut in the tap); anything else forwards the chunk.
 */
export type ProxyTap = (connectionId: number, direction: ProxyDirection, chunk: Buffer) => "drop" | undefined;

export interface TcpProxyOptions {
  upstreamHost: string;
  upstreamPort: number;
  tap?: ProxyTap;
}

export interface TcpProxy {
  readonly port: number;
  /** True between `cut()` and `restore()`. */
  readonly isCut: boolean;
  /** Connections currently open through the proxy. */
  openConnections(): number;
  /** Connections accepted since the proxy started (including ones reset or held by a cut). */
  acceptedConnections(): number;
  /**
   * Destroys every open connection (both sides) and refuses new ones the way `mode` says (default
   * `refuse`). Synchronous, so a tap can cut between two chunks. A no-op while already cut.
   */
  cut(mode?: CutMode): void;
  /** Accepts and forwards new connections again, on the same port. */
  restore(): Promise<void>;
  /**
   * Forwards `chunk` to the upstream of `connectionId` and then half-closes that upstream and
   * destroys the client side: the server receives the bytes, the client never sees an answer.
   * Used from a tap (which then returns `"drop"`) to lose a reply after the request arrived.
   */
  deliverThenSever(connectionId: number, chunk: Buffer): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/** Starts a proxy to `upstreamHost:upstreamPort` and resolves once it listens. */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const pairs = new Map<number, Pair>();
  const held = new Set<Socket>();
  let nextId = 1;
  let accepted = 0;
  let cutMode: CutMode | undefined;
  let closed = false;

  const onConnection = (client: Socket) => {
    accepted += 1;
    client.on("error", () => undefined);
    if (cutMode === "reset") {
      client.destroy();
      return;
    }
    if (cutMode === "blackhole") {
      held.add(client);
      client.once("close", () => held.delete(client));
      return;
    }
    const id = nextId++;
    const upstream = tcpConnect({ host: options.upstreamHost, port: options.upstreamPort });
    upstream.on("error", () => undefined);
    const pair = { client, upstream };
    pairs.set(id, pair);
    // Either side closing closes the other, unless a cut or deliverThenSever already took the pair.
    const forget = () => {
      if (pairs.get(id) !== pair) return;
      pairs.delete(id);
      client.destroy();
      upstream.destroy();
    };
    client.once("close", forget);
    upstream.once("close", forget);
    const forward = (from: Socket, to: Socket, direction: ProxyDirection) => {
      from.on("data", (chunk: Buffer) => {
        // A blackhole cut keeps the sockets open but silent.
        if (cutMode === "blackhole" || !pairs.has(id)) return;
        if (options.tap?.(id, direction, chunk) === "drop") return;
        if (pairs.has(id) && !to.destroyed) to.write(chunk);
      });
    };
    forward(client, upstream, "to-upstream");
    forward(upstream, client, "to-client");
  };

  const server: Server = createServer(onConnection);
  server.on("error", () => undefined);
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once("error", onError);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", onError);
        resolve();
      });
    });
  await listen(0);
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no TCP address");
  const port = address.port;

  const destroyAll = () => {
    for (const { client, upstream } of pairs.values()) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
    for (const socket of held) socket.destroy();
    held.clear();
  };

  return {
    port,
    get isCut() {
      return cutMode !== undefined;
    },
    openConnections: () => pairs.size,
    acceptedConnections: () => accepted,
    cut(mode: CutMode = "refuse") {
      if (cutMode !== undefined) return;
      cutMode = mode;
      if (mode === "blackhole") {
        // Open connections stay open and go silent; new ones are held.
        for (const pair of pairs.values()) {
          held.add(pair.client);
          held.add(pair.upstream);
        }
        pairs.clear();
        return;
      }
      destroyAll();
      if (mode === "refuse") server.close();
    },
    async restore() {
      if (cutMode === undefined || closed) return;
      const wasListening = cutMode !== "refuse";
      destroyAll();
      cutMode = undefined;
      if (!wasListening) await listen(port);
    },
    deliverThenSever(connectionId, chunk) {
      const pair = pairs.get(connectionId);
      if (!pair) return;
      pairs.delete(connectionId);
      pair.client.destroy();
      // end() flushes the chunk before the FIN; destroy() could discard it.
      pair.upstream.end(chunk);
    },
    async close() {
      closed = true;
      destroyAll();
      if (cutMode === "refuse") return;
      cutMode = "refuse";
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
