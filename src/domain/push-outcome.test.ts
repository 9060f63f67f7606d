import { describe, expect, it } from "vitest";
import { classifyPushResponse, isPushSuccess, parseRetryAfterMs } from "./push-outcome.js";

const bounds = { minBackoffMs: 1_000, maxBackoffMs: 60_000 };
const now = Date.UTC(2026, 0, 1);

describe("push outcomes", () => {
  it("treats 2xx and 102 as acknowledgements", () => {
    for (const status of [200, 201, 204, 299, 102]) expect(isPushSuccess(status)).toBe(true);
    for (const status of [100, 199, 300, 302, 400, 404, 500]) expect(isPushSuccess(status)).toBe(false);
  });

  it("dead-letters on 410 Gone", () => {
    expect(classifyPushResponse(410, undefined, now, bounds)).toEqual({ kind: "gone" });
  });

  it("honours Retry-After on 429 and 503 within the backoff bounds", () => {
    expect(classifyPushResponse(429, "5", now, bounds)).toEqual({ kind: "retry", retryAfterMs: 5_000 });
    expect(classifyPushResponse(503, "0", now, bounds)).toEqual({ kind: "retry", retryAfterMs: 1_000 });
    expect(classifyPushResponse(429, "86400", now, bounds)).toEqual({ kind: "retry", retryAfterMs: 60_000 });
    const date = new Date(now + 30_000).toUTCString();
    expect(classifyPushResponse(503, date, now, bounds)).toEqual({ kind: "retry", retryAfterMs: 30_000 });
  });

  it("ignores Retry-After on other statuses and when malformed", () => {
    expect(classifyPushResponse(500, "5", now, bounds)).toEqual({ kind: "retry", retryAfterMs: null });
    expect(classifyPushResponse(429, "soon-ish 5", now, bounds)).toEqual({
      kind: "retry",
      retryAfterMs: null,
    });
    expect(parseRetryAfterMs("-3", now)).toBeNull();
    expect(parseRetryAfterMs(undefined, now)).toBeNull();
    expect(parseRetryAfterMs("1.5", now)).toBeNull();
  });
});
