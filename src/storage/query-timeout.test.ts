import { describe, expect, it } from "vitest";
import { boundQueries, QUERY_TIMEOUT_CODE } from "./query-timeout.js";

function fakeConnection(fail?: { code: string }) {
  const calls: unknown[][] = [];
  let destroyed = 0;
  const conn = {
    query: (...args: unknown[]) => {
      calls.push(args);
      const callback = args.find((a) => typeof a === "function") as ((err: unknown) => void) | undefined;
      callback?.(fail ?? null);
      return "query-object";
    },
    destroy: () => {
      destroyed++;
    },
  };
  return { conn, calls, destroyed: () => destroyed };
}

describe("boundQueries", () => {
  it("adds the timeout to option objects and plain SQL, keeping a query's own timeout", () => {
    const f = fakeConnection();
    boundQueries(f.conn, 500);
    expect(f.conn.query({ sql: "SELECT 1" }, [], () => {})).toBe("query-object");
    f.conn.query("SELECT 2", () => {});
    f.conn.query({ sql: "SELECT 3", timeout: 50 }, [], () => {});
    expect(f.calls.map((c) => c[0])).toEqual([
      { sql: "SELECT 1", timeout: 500 },
      { sql: "SELECT 2", timeout: 500 },
      { sql: "SELECT 3", timeout: 50 },
    ]);
    expect(f.destroyed()).toBe(0);
  });

  it("destroys the connection when a query times out and still reports the error", () => {
    const f = fakeConnection({ code: QUERY_TIMEOUT_CODE });
    boundQueries(f.conn, 500);
    let reported: unknown;
    f.conn.query({ sql: "SELECT SLEEP(10)" }, [], (err: unknown) => {
      reported = err;
    });
    expect(f.destroyed()).toBe(1);
    expect(reported).toEqual({ code: QUERY_TIMEOUT_CODE });
  });

  it("keeps the connection on other errors", () => {
    const f = fakeConnection({ code: "ER_DUP_ENTRY" });
    boundQueries(f.conn, 500);
    f.conn.query({ sql: "INSERT" }, [], () => {});
    expect(f.destroyed()).toBe(0);
  });
});
