import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("retention configuration", () => {
  it("keeps delivered rows for 7 days and prunes every minute by default", () => {
    expect(loadConfig({})).toMatchObject({ retentionMs: 168 * 3_600_000, retentionIntervalMs: 60_000 });
  });

  it("reads HERALD_RETENTION_HOURS as hours and HERALD_RETENTION_INTERVAL_MS as milliseconds", () => {
    const config = loadConfig({ HERALD_RETENTION_HOURS: "2", HERALD_RETENTION_INTERVAL_MS: "5000" });
    expect(config).toMatchObject({ retentionMs: 7_200_000, retentionIntervalMs: 5_000 });
  });

  it.each([
    ["HERALD_RETENTION_HOURS", "0"],
    ["HERALD_RETENTION_HOURS", "1.5"],
    ["HERALD_RETENTION_HOURS", "-1"],
    ["HERALD_RETENTION_INTERVAL_MS", "999"],
    ["HERALD_RETENTION_INTERVAL_MS", "soon"],
  ])("rejects %s=%s naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
