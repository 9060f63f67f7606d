import { describe, expect, it } from "vitest";
import { PushWindow } from "./push-window.js";

/** Full rounds: each starts a whole window of requests, then settles them in order. */
function inRounds(window: PushWindow, rounds: number, fails: (i: number) => boolean): number[] {
  const sizes: number[] = [];
  let i = 0;
  for (let r = 0; r < rounds; r++) {
    const tickets = Array.from({ length: window.size }, () => window.started());
    for (const ticket of tickets) {
      if (fails(i++)) window.failed(ticket);
      else window.succeeded();
    }
    sizes.push(window.size);
  }
  return sizes;
}

/** One request at a time (a fast receiver: each finishes before the next starts). */
function oneByOne(window: PushWindow, requests: number, fails: (i: number) => boolean): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < requests; i++) {
    const ticket = window.started();
    if (fails(i)) window.failed(ticket);
    else window.succeeded();
    sizes.push(window.size);
  }
  return sizes;
}

const everyFifth = (i: number) => i % 5 === 0;

describe("PushWindow", () => {
  it("starts at the initial size, capped by the maximum", () => {
    expect(new PushWindow(4, 64).size).toBe(4);
    expect(new PushWindow(4, 2).size).toBe(2);
  });

  it("grows by one per success up to the maximum", () => {
    const w = new PushWindow(4, 6);
    for (let i = 0; i < 5; i++) {
      w.started();
      w.succeeded();
    }
    expect(w.size).toBe(6);
  });

  it("halves on a failure", () => {
    const w = new PushWindow(8, 64);
    w.failed(w.started());
    expect(w.size).toBe(4);
  });

  it("cuts once for a burst of failures of requests that were in flight together", () => {
    const w = new PushWindow(32, 64);
    const tickets = Array.from({ length: 32 }, () => w.started());
    for (const ticket of tickets.slice(0, 10)) w.failed(ticket);
    expect(w.size).toBe(16);
  });

  it("cuts again only after a window's worth of requests started since the last cut", () => {
    const w = new PushWindow(8, 64);
    w.failed(w.started());
    expect(w.size).toBe(4);
    for (let i = 0; i < 8; i++) w.failed(w.started());
    expect(w.size).toBe(4);
    w.failed(w.started());
    expect(w.size).toBe(2);
  });

  it("keeps a large window when a fifth of the requests fail, in rounds or one by one", () => {
    // Before the fix (a halving per failure) the window sat at a few requests.
    expect(Math.min(...inRounds(new PushWindow(4, 64), 40, everyFifth).slice(20))).toBeGreaterThanOrEqual(32);
    expect(
      Math.min(...oneByOne(new PushWindow(4, 64), 2_000, everyFifth).slice(1_000)),
    ).toBeGreaterThanOrEqual(32);
  });

  it("shrinks to one request when every request fails", () => {
    expect(inRounds(new PushWindow(64, 64), 20, () => true).at(-1)).toBe(1);
    expect(oneByOne(new PushWindow(64, 64), 200, () => true).at(-1)).toBe(1);
  });

  it("stays small when most requests fail", () => {
    const sizes = oneByOne(new PushWindow(64, 64), 2_000, (i) => i % 4 !== 0);
    expect(Math.max(...sizes.slice(1_000))).toBeLessThanOrEqual(8);
  });
});
