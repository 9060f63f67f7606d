import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { createHealthRoutes, HealthState, ServingStatus, watchHealth } from "./health-service.js";

function healthClient(state: HealthState) {
  return createClient(Health, createRouterTransport(createHealthRoutes(state)));
}

async function codeOf(promise: Promise<unknown>): Promise<Code | undefined> {
  try {
    await promise;
    return undefined;
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

describe("HealthState", () => {
  it("starts with the overall server SERVING and named services unknown", () => {
    const state = new HealthState();
    expect(state.get("")).toBe(ServingStatus.SERVING);
    expect(state.get("herald.v1.PublisherService")).toBeUndefined();
  });

  it("refuses SERVICE_UNKNOWN, which only Watch may report", () => {
    expect(() => new HealthState().setStatus("x", ServingStatus.SERVICE_UNKNOWN)).toThrow(RangeError);
  });

  it("marks every known service NOT_SERVING on shutdown", () => {
    const state = new HealthState();
    state.setStatus("a", ServingStatus.SERVING);
    state.shutdown();
    expect([...state.list()]).toEqual([
      ["", ServingStatus.NOT_SERVING],
      ["a", ServingStatus.NOT_SERVING],
    ]);
  });

  it("notifies subscribers of changes only, and stops after unsubscribe", () => {
    const state = new HealthState();
    const seen: ServingStatus[] = [];
    const unsubscribe = state.subscribe("", (status) => seen.push(status));
    state.setStatus("", ServingStatus.SERVING);
    state.setStatus("", ServingStatus.NOT_SERVING);
    unsubscribe();
    state.setStatus("", ServingStatus.SERVING);
    expect(seen).toEqual([ServingStatus.NOT_SERVING]);
  });
});

describe("Health.Check", () => {
  it("reports the overall server status for the empty service name", async () => {
    const response = await healthClient(new HealthState()).check({ service: "" });
    expect(response.status).toBe(ServingStatus.SERVING);
  });

  it("reports a named service's status", async () => {
    const state = new HealthState();
    state.setStatus("herald.v1.AdminService", ServingStatus.NOT_SERVING);
    const response = await healthClient(state).check({ service: "herald.v1.AdminService" });
    expect(response.status).toBe(ServingStatus.NOT_SERVING);
  });

  it("fails with NOT_FOUND for an unknown service", async () => {
    const code = await codeOf(healthClient(new HealthState()).check({ service: "nope.Service" }));
    expect(code).toBe(Code.NotFound);
  });
});

describe("Health.List", () => {
  it("returns every known service with its status", async () => {
    const state = new HealthState();
    state.setStatus("herald.v1.SubscriberService", ServingStatus.NOT_SERVING);
    const response = await healthClient(state).list({});
    expect(Object.fromEntries(Object.entries(response.statuses).map(([k, v]) => [k, v.status]))).toEqual({
      "": ServingStatus.SERVING,
      "herald.v1.SubscriberService": ServingStatus.NOT_SERVING,
    });
  });
});

describe("Health.Watch", () => {
  it("sends the current status, then each change", async () => {
    const state = new HealthState();
    const abort = new AbortController();
    const seen: ServingStatus[] = [];
    for await (const response of healthClient(state).watch({ service: "" }, { signal: abort.signal })) {
      seen.push(response.status);
      if (seen.length === 1) state.setStatus("", ServingStatus.NOT_SERVING);
      if (seen.length === 2) break;
    }
    abort.abort();
    expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  });

  it("reports SERVICE_UNKNOWN for an unknown service and keeps watching until it becomes known", async () => {
    const state = new HealthState();
    const abort = new AbortController();
    const seen: ServingStatus[] = [];
    for await (const response of healthClient(state).watch({ service: "later" }, { signal: abort.signal })) {
      seen.push(response.status);
      if (seen.length === 1) state.setStatus("later", ServingStatus.SERVING);
      if (seen.length === 2) break;
    }
    abort.abort();
    expect(seen).toEqual([ServingStatus.SERVICE_UNKNOWN, ServingStatus.SERVING]);
  });
});

describe("watchHealth", () => {
  it("ends when the signal aborts while it waits for a change, and unsubscribes", async () => {
    const state = new HealthState();
    const abort = new AbortController();
    const watch = watchHealth(state, "", abort.signal);
    expect(await watch.next()).toEqual({ done: false, value: ServingStatus.SERVING });
    const next = watch.next();
    abort.abort();
    expect(await next).toEqual({ done: true, value: undefined });
    // The finished watch must not leave its listener behind (private field, read on purpose).
    expect((state as unknown as { listeners: Map<string, unknown> }).listeners.size).toBe(0);
  });

  it("collapses changes made while the consumer is busy into the latest status", async () => {
    const state = new HealthState();
    const abort = new AbortController();
    const watch = watchHealth(state, "", abort.signal);
    await watch.next();
    state.setStatus("", ServingStatus.NOT_SERVING);
    state.setStatus("", ServingStatus.SERVING);
    state.setStatus("", ServingStatus.NOT_SERVING);
    expect(await watch.next()).toEqual({ done: false, value: ServingStatus.NOT_SERVING });
    abort.abort();
    await watch.return(undefined);
  });
});
