import { describe, expect, it } from "vitest";
import { DatabaseHosts, type WatchedConnection } from "./database-hosts.js";

const three = () =>
  new DatabaseHosts([
    { host: "10.0.0.1", port: 3306 },
    { host: "10.0.0.2", port: 3306 },
    { host: "10.0.0.3", port: 3307 },
  ]);

/** A connection whose next query answers `error` (or rows). */
function fakeConnection(error: unknown): WatchedConnection & { destroyed: boolean } {
  const conn = {
    destroyed: false,
    query: (_sql: string, cb: (err: unknown, rows?: unknown) => void) => cb(error, []),
    destroy: () => {
      conn.destroyed = true;
    },
  };
  return conn as WatchedConnection & { destroyed: boolean };
}

describe("DatabaseHosts", () => {
  it("uses the first host until it fails, then the next, and wraps around", () => {
    const hosts = three();
    expect(hosts.state()).toEqual({ address: "10.0.0.1:3306", isPrimary: undefined });
    hosts.reportFailure(0, { code: "ECONNREFUSED" });
    expect(hosts.state().address).toBe("10.0.0.2:3306");
    hosts.reportFailure(1, { code: "ECONNRESET" });
    hosts.reportFailure(2, { code: "ECONNRESET" });
    expect(hosts.state().address).toBe("10.0.0.1:3306");
  });

  it("ignores failures of a host that is no longer in use (its other connections failing late)", () => {
    const hosts = three();
    hosts.reportFailure(0, { code: "ECONNRESET" });
    hosts.reportFailure(0, { code: "ECONNRESET" });
    hosts.reportFailure(0, { code: "PROTOCOL_CONNECTION_LOST" });
    expect(hosts.currentIndex).toBe(1);
  });

  it("fails over on a node outside the primary component (1047) and closes that connection", () => {
    const hosts = three();
    const conn = fakeConnection({ code: "ER_UNKNOWN_COM_ERROR", errno: 1047 });
    hosts.watch(conn, 0);
    let seen: unknown;
    conn.query("SELECT 1", (err: unknown) => {
      seen = err;
    });
    expect((seen as { code: string }).code).toBe("ER_UNKNOWN_COM_ERROR");
    expect(conn.destroyed).toBe(true);
    expect(hosts.currentIndex).toBe(1);
  });

  it("marks the failed host's other open connections for disposal at their next use", () => {
    const hosts = three();
    const idle = fakeConnection(null);
    const other = fakeConnection(null);
    hosts.watch(idle, 0);
    hosts.watch(other, 1);
    hosts.reportFailure(0, { code: "ECONNRESET" });
    expect(idle._fatalError).toEqual({ code: "ECONNRESET" });
    expect(other._fatalError).toBeUndefined();
  });

  it("keeps a statement error (a duplicate key) from failing the host over", () => {
    const hosts = three();
    const conn = fakeConnection({ code: "ER_DUP_ENTRY" });
    hosts.watch(conn, 0);
    conn.query("INSERT", () => undefined);
    expect(hosts.currentIndex).toBe(0);
    expect(conn.destroyed).toBe(false);
  });

  it("with one host reports it non-primary after a 1047 and stays on it", () => {
    const hosts = new DatabaseHosts([{ host: "db", port: 3306 }]);
    hosts.reportHealthy(0, true);
    expect(hosts.state()).toEqual({ address: "db:3306", isPrimary: true });
    hosts.reportFailure(0, { code: "ER_UNKNOWN_COM_ERROR" });
    expect(hosts.state()).toEqual({ address: "db:3306", isPrimary: false });
  });
});
