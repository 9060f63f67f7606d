import { timestampMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import {
  collectAttribute,
  integerIn,
  parseDurationMs,
  parseFutureInstant,
  parseId,
  parseInstant,
} from "./parse-values.js";

describe("option value parsers", () => {
  it.each([
    ["90", 90_000],
    ["90s", 90_000],
    ["500ms", 500],
    ["15m", 900_000],
    ["2h", 7_200_000],
    ["7d", 604_800_000],
    ["0", 0],
  ])("reads the duration %j as %d ms", (value, ms) => {
    expect(parseDurationMs(value)).toBe(ms);
  });

  it.each(["", "1w", "-5s", "s", "1 h"])("rejects the duration %j", (value) => {
    expect(() => parseDurationMs(value)).toThrow(InvalidArgumentError);
  });

  it("reads an instant as RFC 3339 or as a duration before now", () => {
    const now = Date.parse("2026-01-31T12:00:00Z");
    expect(timestampMs(parseInstant("2026-01-30T00:00:00Z", now))).toBe(Date.parse("2026-01-30T00:00:00Z"));
    expect(timestampMs(parseInstant("1h", now))).toBe(now - 3_600_000);
    expect(() => parseInstant("yesterday", now)).toThrow(InvalidArgumentError);
  });

  it("reads a delivery time as RFC 3339 or a duration from now", () => {
    const now = Date.parse("2026-01-31T00:00:00Z");
    expect(timestampMs(parseFutureInstant("2026-02-01T09:00:00Z", now))).toBe(
      Date.parse("2026-02-01T09:00:00Z"),
    );
    expect(timestampMs(parseFutureInstant("15m", now))).toBe(now + 900_000);
    expect(() => parseFutureInstant("tomorrow", now)).toThrow(InvalidArgumentError);
  });

  it("keeps ids as bigints and rejects what is not a positive id", () => {
    expect(parseId("9223372036854775807")).toBe(9223372036854775807n);
    for (const bad of ["0", "-1", "1.5", "abc", "99999999999999999999"]) {
      expect(() => parseId(bad)).toThrow(InvalidArgumentError);
    }
  });

  it("bounds whole numbers", () => {
    expect(integerIn(1, 1000)("1000")).toBe(1000);
    expect(() => integerIn(1, 1000)("0")).toThrow("expected 1..1000");
    expect(() => integerIn(1, 1000)("2.5")).toThrow("expected a whole number");
  });

  it("collects repeated attributes, splitting at the first '='", () => {
    const first = collectAttribute("a=1");
    expect(collectAttribute("expr=x=y", first)).toEqual({ a: "1", expr: "x=y" });
    expect(collectAttribute("empty=", {})).toEqual({ empty: "" });
    expect(() => collectAttribute("=v")).toThrow(InvalidArgumentError);
    expect(() => collectAttribute("novalue")).toThrow(InvalidArgumentError);
  });
});
