/**
 * Which of several MySQL hosts (a Galera cluster's nodes, from a DATABASE_URL with a host list)
 * new connections go to. One host is in use at a time, so that a single-writer deployment writes
 * to one node; when it fails — a connection to it is refused, reset or times out, or it answers
 * that it is not in the primary component (wsrep_ready=OFF, error 1047) — the next host in the
 * list takes over, and connections to the failed one are dropped as they report errors. With one
 * host this is just that host.
 */
import { connect, type Socket } from "node:net";
import type { DatabaseNodeState } from "../app/ports/store.js";
import type { HostPort } from "../config/database-url.js";
import type { Logger } from "../logger.js";

/** Errors after which a host is treated as failed: no connection, or a node out of the primary component. */
const HOST_FAILURE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "PROTOCOL_CONNECTION_LOST",
  "ER_SERVER_SHUTDOWN",
  // 1047: "WSREP has not yet prepared node for application use" (non-primary or not synced).
  "ER_UNKNOWN_COM_ERROR",
  // 1927: the connection was killed (a node shutting down kills its clients' connections).
  "ER_CONNECTION_KILLED",
]);

/** Whether `error` says the host behind a connection is unusable (as opposed to a bad statement). */
export function isHostFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && HOST_FAILURE_CODES.has(code);
}

/** The socket of a connection, tagged with the host it went to. */
type HostSocket = Socket & { heraldHostIndex?: number };

/** The parts of a mysql2 connection this file uses. */
export interface WatchedConnection {
  query: (...args: unknown[]) => unknown;
  destroy: () => void;
  stream?: unknown;
  once?: (event: string, listener: () => void) => unknown;
  /** Read by knex's mysql2 validateConnection: a connection with it set is discarded at its next acquire. */
  _fatalError?: unknown;
}

export class DatabaseHosts {
  private current = 0;
  private isPrimary: boolean | undefined;
  /** Open connections by host index, so those of a failed host can be retired. */
  private readonly connections = new Map<WatchedConnection, number>();

  constructor(
    readonly hosts: readonly HostPort[],
    private readonly logger?: Logger,
  ) {
    if (hosts.length === 0) throw new Error("DatabaseHosts needs at least one host");
  }

  /** The index of the host in use. */
  get currentIndex(): number {
    return this.current;
  }

  addressOf(index: number): string {
    const h = this.hosts[index] as HostPort;
    return h.host.includes(":") ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
  }

  /** The index of `host:port` in the list, or -1. */
  indexOf(host: string, port: number): number {
    return this.hosts.findIndex((h) => h.host === host && h.port === port);
  }

  state(): DatabaseNodeState {
    return { address: this.addressOf(this.current), isPrimary: this.isPrimary };
  }

  /**
   * A mysql2 `stream` factory for a new connection to the host in use: the socket reports its own
   * connect failure (refused, reset, no answer within `connectTimeoutMs`) so the next connection
   * goes to the next host.
   */
  socketFactory(connectTimeoutMs: number): () => Socket {
    return () => {
      const index = this.current;
      const h = this.hosts[index] as HostPort;
      const socket = connect({ host: h.host, port: h.port }) as HostSocket;
      socket.heraldHostIndex = index;
      const timer = setTimeout(
        () => this.reportFailure(index, { code: "ETIMEDOUT", message: "connect timed out" }),
        connectTimeoutMs,
      );
      timer.unref();
      socket.once("connect", () => clearTimeout(timer));
      socket.once("close", () => clearTimeout(timer));
      socket.once("error", (error) => {
        clearTimeout(timer);
        if (isHostFailure(error)) this.reportFailure(index, error);
      });
      return socket;
    };
  }

  /** The host index a connection made with `socketFactory` went to (the first host otherwise). */
  hostOf(conn: WatchedConnection): number {
    return (conn.stream as HostSocket | undefined)?.heraldHostIndex ?? 0;
  }

  /**
   * Watches every query of `conn` (to host `index`): an error that says the host is unusable
   * fails the host over; a 1047 (node not ready) also closes the connection, which the node would
   * otherwise keep refusing on.
   */
  watch(conn: WatchedConnection, index: number): void {
    this.connections.set(conn, index);
    conn.once?.("end", () => this.connections.delete(conn));
    const query = conn.query.bind(conn);
    conn.query = (...args: unknown[]) => {
      const callbackAt = args.findIndex((a) => typeof a === "function");
      if (callbackAt >= 0) {
        const callback = args[callbackAt] as (err: unknown, ...results: unknown[]) => void;
        args[callbackAt] = (err: unknown, ...results: unknown[]) => {
          if (err !== null && err !== undefined && isHostFailure(err)) {
            this.reportFailure(index, err);
            if ((err as { code?: unknown }).code === "ER_UNKNOWN_COM_ERROR") conn.destroy();
          }
          callback(err, ...results);
        };
      }
      return query(...args);
    };
  }

  /** Marks every open connection to host `index` for disposal at its next use (idle or busy). */
  private retire(index: number, error: unknown): void {
    for (const [conn, at] of this.connections) {
      if (at !== index) continue;
      conn._fatalError ??= error;
      this.connections.delete(conn);
    }
  }

  /** A connection to host `index` found it usable (and, on Galera, whether it is primary). */
  reportHealthy(index: number, isPrimary: boolean | undefined): void {
    if (index === this.current) this.isPrimary = isPrimary;
  }

  /**
   * Host `index` failed. If it is the one in use, the next one in the list takes over (later
   * reports about the old host, from its other connections, change nothing).
   */
  reportFailure(index: number, error: unknown): void {
    if (index !== this.current) return;
    this.retire(index, error);
    if (this.hosts.length === 1) {
      // Nowhere to go: say what is known about the one node.
      const code = (error as { code?: unknown } | null)?.code;
      this.isPrimary = code === "ER_UNKNOWN_COM_ERROR" ? false : undefined;
      return;
    }
    this.isPrimary = undefined;
    const from = this.addressOf(index);
    this.current = (index + 1) % this.hosts.length;
    this.logger?.warn("database host failed: switching to the next one", {
      failed: from,
      next: this.addressOf(this.current),
      code: (error as { code?: unknown } | null)?.code,
      reason: (error as { message?: unknown } | null)?.message,
    });
  }
}
