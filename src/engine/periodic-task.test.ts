import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Logger } from "../logger.js";
import { PeriodicTask } from "./periodic-task.js";

const INTERVAL_MS = 1_000;

/** A logger that keeps its warnings. */
function recordingLogger() {
  const warnings: { msg: string; fields?: Record<string, unknown> }[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (msg, fields) => warnings.push(fields === undefined ? { msg } : { msg, fields }),
    error: () => {},
  };
  return { logger, warnings };
}

/** Releases every run a test left open, so that stop() in afterEach does not wait forever. */
const openRuns: (() => void)[] = [];

/** A task whose runs the test can hold open and release; counts its runs. */
function controllableTask() {
  const state = { runs: 0, release: undefined as (() => void) | undefined };
  const run = () => {
    state.runs += 1;
    return new Promise<void>((resolve) => {
      state.release = resolve;
      openRuns.push(resolve);
    });
  };
  return { state, run };
}

describe("PeriodicTask", () => {
  let task: PeriodicTask | undefined;
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    for (const release of openRuns.splice(0)) release();
    await task?.stop();
    task = undefined;
    vi.useRealTimers();
  });

  function periodic(run: () => Promise<void>, logger = recordingLogger().logger): PeriodicTask {
    task = new PeriodicTask("test task", run, logger, INTERVAL_MS);
    return task;
  }

  it("runs nothing until started, then once per interval", async () => {
    const run = vi.fn(async () => {});
    const t = periodic(run);
    await vi.advanceTimersByTimeAsync(5 * INTERVAL_MS);
    expect(run).not.toHaveBeenCalled();
    t.start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    expect(run).toHaveBeenCalledTimes(3);
  });

  it("measures the interval from the end of a run to the start of the next", async () => {
    const { state, run } = controllableTask();
    periodic(run).start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(state.runs).toBe(1);
    await vi.advanceTimersByTimeAsync(5 * INTERVAL_MS);
    expect(state.runs).toBe(1);
    state.release?.();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    expect(state.runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(state.runs).toBe(2);
  });

  it("does not schedule a second timer when started twice", async () => {
    const run = vi.fn(async () => {});
    const t = periodic(run);
    t.start();
    t.start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(run).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(1);
  });

  it("runs no more after stop, and tolerates a second stop and a stop before start", async () => {
    const run = vi.fn(async () => {});
    const t = periodic(run);
    await t.stop();
    t.start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(run).toHaveBeenCalledTimes(1);
    await t.stop();
    await t.stop();
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(run).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("runs again after a stop and a new start", async () => {
    const run = vi.fn(async () => {});
    const t = periodic(run);
    t.start();
    await t.stop();
    t.start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("logs a failed run and still runs the next one", async () => {
    const { logger, warnings } = recordingLogger();
    const error = new Error("database gone");
    const run = vi.fn().mockRejectedValueOnce(error).mockResolvedValue(undefined);
    periodic(run, logger).start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(warnings).toEqual([{ msg: "test task failed", fields: { error } }]);
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(run).toHaveBeenCalledTimes(2);
    expect(warnings).toHaveLength(1);
  });

  it("runs at once when nudged instead of waiting for the interval", async () => {
    const run = vi.fn(async () => {});
    const t = periodic(run);
    t.start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS / 2);
    t.nudge();
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(1);
    // The next run is a full interval after the nudged one, not at the original time.
    await vi.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it("ignores a nudge while stopped or while a run is in progress", async () => {
    const { state, run } = controllableTask();
    const t = periodic(run);
    t.nudge();
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(state.runs).toBe(0);
    t.start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(state.runs).toBe(1);
    t.nudge();
    await vi.advanceTimersByTimeAsync(0);
    expect(state.runs).toBe(1);
    state.release?.();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(state.runs).toBe(2);
  });

  it("waits in stop for the run in progress and runs no more afterwards", async () => {
    const { state, run } = controllableTask();
    const t = periodic(run);
    t.start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(state.runs).toBe(1);
    let isStopped = false;
    const stopping = t.stop().then(() => {
      isStopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(isStopped).toBe(false);
    state.release?.();
    await stopping;
    expect(isStopped).toBe(true);
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(state.runs).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("keeps one schedule when started again while the run a stop waits for is in progress", async () => {
    const { state, run } = controllableTask();
    const t = periodic(run);
    t.start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(state.runs).toBe(1);
    const stopping = t.stop();
    t.start();
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    // No second run may start while the first is still going.
    expect(state.runs).toBe(1);
    state.release?.();
    await stopping;
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(state.runs).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
    state.release?.();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(state.runs).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
  });
});
