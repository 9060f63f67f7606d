import { afterEach, describe, expect, it, vi } from "vitest";
import { createJsonLogger } from "../logger.js";
import { HealthState, ServingStatus } from "../transport/health-service.js";
import { DatabaseHealthMonitor } from "./database-health-monitor.js";

const SERVICES = ["", "herald.v1.PublisherService", "herald.v1.SubscriberService"];

/** A store whose ping succeeds or fails as the test says, and counts the pings. */
class FakeStore {
  isReachable = true;
  pings = 0;
  async ping(): Promise<void> {
    this.pings += 1;
    if (!this.isReachable) throw new Error("connect ECONNREFUSED 127.0.0.1:3306");
  }
}

function statuses(health: HealthState): (ServingStatus | undefined)[] {
  return SERVICES.map((service) => health.get(service));
}

const ALL_SERVING = SERVICES.map(() => ServingStatus.SERVING);
const ALL_NOT_SERVING = SERVICES.map(() => ServingStatus.NOT_SERVING);

describe("DatabaseHealthMonitor", () => {
  let monitor: DatabaseHealthMonitor | undefined;
  afterEach(async () => {
    await monitor?.stop();
    vi.useRealTimers();
  });

  function start(store: FakeStore, health: HealthState, options: { timeoutMs?: number } = {}) {
    monitor = new DatabaseHealthMonitor({
      database: store,
      health: health.reporterFor(SERVICES),
      logger: createJsonLogger("silent"),
      intervalMs: 1_000,
      ...options,
    });
    monitor.start();
    return monitor;
  }

  it("reports every service SERVING when it starts", () => {
    const health = new HealthState();
    start(new FakeStore(), health);
    expect(statuses(health)).toEqual(ALL_SERVING);
  });

  it("flips every service to NOT_SERVING when a ping fails and back to SERVING when one succeeds", async () => {
    const store = new FakeStore();
    const health = new HealthState();
    const m = start(store, health);
    store.isReachable = false;
    await m.checkNow();
    expect(statuses(health)).toEqual(ALL_NOT_SERVING);
    store.isReachable = true;
    await m.checkNow();
    expect(statuses(health)).toEqual(ALL_SERVING);
  });

  it("counts a ping slower than the timeout as a failure", async () => {
    vi.useFakeTimers();
    const health = new HealthState();
    const hanging = { ping: () => new Promise<void>(() => undefined) };
    monitor = new DatabaseHealthMonitor({
      database: hanging,
      health: health.reporterFor(SERVICES),
      logger: createJsonLogger("silent"),
      intervalMs: 60_000,
      timeoutMs: 500,
    });
    monitor.start();
    const check = monitor.checkNow();
    await vi.advanceTimersByTimeAsync(500);
    await check;
    expect(statuses(health)).toEqual(ALL_NOT_SERVING);
  });

  it("pings every interval", async () => {
    vi.useFakeTimers();
    const store = new FakeStore();
    const health = new HealthState();
    start(store, health);
    store.isReachable = false;
    await vi.advanceTimersByTimeAsync(999);
    expect(store.pings).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.pings).toBe(1);
    expect(statuses(health)).toEqual(ALL_NOT_SERVING);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(store.pings).toBe(2);
  });

  it("never reports SERVING after stop, so a graceful stop's NOT_SERVING stays", async () => {
    const store = new FakeStore();
    const health = new HealthState();
    const m = start(store, health);
    const check = m.checkNow();
    health.shutdown();
    await m.stop();
    await check;
    await m.checkNow();
    expect(statuses(health)).toEqual(ALL_NOT_SERVING);
  });

  it("tolerates a second stop and a stop before start", async () => {
    const m = new DatabaseHealthMonitor({
      database: new FakeStore(),
      health: new HealthState().reporterFor(SERVICES),
      logger: createJsonLogger("silent"),
    });
    await m.stop();
    m.start();
    await m.stop();
    await m.stop();
  });
});
