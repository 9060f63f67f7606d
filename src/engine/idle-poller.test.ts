import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Subscription } from "../domain/subscription.js";
import { IdlePoller } from "./idle-poller.js";
import { Wakeups } from "./wakeups.js";

const subscription = { id: 5n, topicId: 2n, enableOrdering: true } as Subscription;

describe("IdlePoller", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function poller(probe: () => Promise<number | undefined>, pollMs = 1_000) {
    const wakeups = new Wakeups();
    const idle = new IdlePoller({ probe, wakeups, pollMs, safetyMs: 3_600_000 });
    return { idle, wakeups };
  }

  it("probes a subscription once per interval however many consumers wait on it", async () => {
    let probes = 0;
    const { idle } = poller(async () => {
      probes += 1;
      return undefined;
    });
    const controller = new AbortController();
    const waits = Array.from({ length: 50 }, () => idle.waitForWork(subscription, controller.signal));
    await vi.advanceTimersByTimeAsync(10_000);
    // One at the start, then one per second: not one per consumer.
    expect(probes).toBe(11);
    expect(idle.watchedCount).toBe(1);
    controller.abort();
    await Promise.all(waits);
    idle.stop();
  });

  it("wakes every waiting consumer once the probe finds work ready", async () => {
    let readyAtMs: number | undefined;
    const { idle } = poller(async () => readyAtMs);
    const controller = new AbortController();
    let woken = 0;
    const waits = Array.from({ length: 3 }, () =>
      idle.waitForWork(subscription, controller.signal).then(() => {
        woken += 1;
      }),
    );
    await vi.advanceTimersByTimeAsync(2_500);
    expect(woken).toBe(0);
    readyAtMs = Date.now();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(woken).toBe(3);
    await Promise.all(waits);
    idle.stop();
  });

  it("after a recheck, wakes consumers when the earliest retry comes due rather than at the next poll", async () => {
    let dueAtMs: number | undefined;
    const { idle } = poller(async () => dueAtMs, 10_000);
    const controller = new AbortController();
    let wokenAtMs: number | undefined;
    const startedMs = Date.now();
    const wait = idle.waitForWork(subscription, controller.signal).then(() => {
      wokenAtMs = Date.now();
    });
    // A nack whose backoff ends in 300 ms.
    dueAtMs = startedMs + 300;
    idle.recheck(subscription.id);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(wokenAtMs).toBeDefined();
    expect((wokenAtMs as number) - startedMs).toBeLessThanOrEqual(310);
    await wait;
    idle.stop();
  });

  it("stops probing once no consumer waits", async () => {
    let probes = 0;
    const { idle } = poller(async () => {
      probes += 1;
      return undefined;
    });
    const controller = new AbortController();
    const wait = idle.waitForWork(subscription, controller.signal);
    await vi.advanceTimersByTimeAsync(1_000);
    controller.abort();
    await wait;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(idle.watchedCount).toBe(0);
    // Started with the waiter, one a second while it waited, one more round after it left.
    expect(probes).toBeLessThanOrEqual(3);
    idle.stop();
  });
});
