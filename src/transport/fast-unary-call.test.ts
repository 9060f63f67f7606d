import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InflightCalls } from "./fast-unary-call.js";

describe("InflightCalls", () => {
  it("aborts the calls still running at shutdown with UNAVAILABLE, and not the finished ones", () => {
    const shutdown = new AbortController();
    const calls = new InflightCalls(shutdown.signal);
    const running = calls.started();
    const finished = calls.started();
    calls.finished(finished);

    shutdown.abort();

    expect(running.signal.aborted).toBe(true);
    expect(running.signal.reason).toBeInstanceOf(ConnectError);
    expect((running.signal.reason as ConnectError).code).toBe(Code.Unavailable);
    expect(finished.signal.aborted).toBe(false);
  });

  it("hands out an already aborted signal once the server is shutting down", () => {
    const shutdown = new AbortController();
    const calls = new InflightCalls(shutdown.signal);
    shutdown.abort();

    const late = calls.started();

    expect(late.signal.aborted).toBe(true);
    expect((late.signal.reason as ConnectError).code).toBe(Code.Unavailable);
  });
});
