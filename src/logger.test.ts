import { describe, expect, it } from "vitest";
import { createJsonLogger, dampOutageLogs } from "./logger.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createJsonLogger("debug", (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return { lines, logger };
}

const outage = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:3306"), { code: "ECONNREFUSED" });
const isOutage = (e: unknown) => e instanceof Error && (e as { code?: unknown }).code === "ECONNREFUSED";

describe("dampOutageLogs", () => {
  it("prints an outage error once per window per message, without its stack, then says how many it held back", () => {
    const { lines, logger } = capture();
    let nowMs = 0;
    const damped = dampOutageLogs(logger, isOutage, { windowMs: 10_000, nowMs: () => nowMs });
    for (let i = 0; i < 1_000; i++) {
      damped.warn("request failed", { procedure: "/p", error: outage() });
      nowMs += 5;
    }
    // 1,000 failures over 5 s: one line.
    expect(lines).toHaveLength(1);
    expect(lines[0]?.error).toEqual({
      name: "Error",
      message: "connect ECONNREFUSED 127.0.0.1:3306",
      code: "ECONNREFUSED",
    });
    nowMs = 10_000;
    damped.warn("request failed", { procedure: "/p", error: outage() });
    expect(lines).toHaveLength(2);
    expect(lines[1]?.suppressed).toBe(999);
  });

  it("keeps separate windows per message, and passes every other line through unchanged", () => {
    const { lines, logger } = capture();
    const damped = dampOutageLogs(logger, isOutage, { nowMs: () => 0 });
    damped.warn("queue sweep failed", { error: outage() });
    damped.warn("queue sweep failed", { error: outage() });
    damped.warn("push refresh failed", { error: outage() });
    damped.error("request failed", { error: new Error("bug") });
    damped.error("request failed", { error: new Error("bug") });
    damped.info("database reachable again");
    expect(lines.map((l) => l.msg)).toEqual([
      "queue sweep failed",
      "push refresh failed",
      "request failed",
      "request failed",
      "database reachable again",
    ]);
    // An unexpected error keeps its stack.
    expect(String((lines[2]?.error as { stack?: unknown } | undefined)?.stack)).toContain("Error: bug");
  });
});
