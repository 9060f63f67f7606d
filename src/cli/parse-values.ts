/**
 * Parsers for option values: each returns the typed value or throws commander's InvalidArgumentError,
 * which commander reports as a usage error naming the option.
 */
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "commander";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90", "90s", "500ms", "15m", "2h", "7d" → milliseconds (a bare number is seconds). */
export function parseDurationMs(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match?.[1]) throw new InvalidArgumentError("expected a duration such as 30s, 15m, 2h or 7d");
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? "s"] ?? 1000));
}

/** A duration option as a protobuf Duration. */
export function parseDuration(value: string): Duration {
  return durationFromMs(parseDurationMs(value));
}

/** An instant: RFC 3339 ("2026-01-31T12:00:00Z") or a duration ago ("1h" = one hour before now). */
export function parseInstant(value: string, nowMs: number = Date.now()): Timestamp {
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d)$/.test(value.trim()))
    return timestampFromMs(nowMs - parseDurationMs(value));
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new InvalidArgumentError("expected a time (2026-01-31T12:00:00Z) or a duration ago (1h, 7d)");
  }
  return timestampFromMs(ms);
}

/** A future instant: RFC 3339 ("2026-01-31T09:00:00Z") or a duration from now ("15m" = in 15 minutes). */
export function parseFutureInstant(value: string, nowMs: number = Date.now()): Timestamp {
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d)$/.test(value.trim()))
    return timestampFromMs(nowMs + parseDurationMs(value));
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new InvalidArgumentError("expected a time (2026-01-31T09:00:00Z) or a duration from now (15m, 2h)");
  }
  return timestampFromMs(ms);
}

/** A whole number within [min, max]. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError("expected a whole number");
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected ${min}..${max}`);
    return n;
  };
}

/** A positive int64 id (subscriber, dead letter). */
export function parseId(value: string): bigint {
  if (!/^\d{1,19}$/.test(value.trim()) || BigInt(value) === 0n) {
    throw new InvalidArgumentError("expected a positive id");
  }
  return BigInt(value);
}

/** Repeatable `--attr k=v`: collects into one record. */
export function collectAttribute(
  value: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError("expected key=value");
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** Repeatable string option: collects into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** "true/false/yes/no/1/0" → boolean. */
export function parseBoolean(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (["true", "yes", "1", "on"].includes(v)) return true;
  if (["false", "no", "0", "off"].includes(v)) return false;
  throw new InvalidArgumentError("expected true or false");
}

/** One of `choices` (case-insensitive). */
export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    const v = value.trim().toLowerCase() as T;
    if (!choices.includes(v)) throw new InvalidArgumentError(`expected one of ${choices.join(", ")}`);
    return v;
  };
}

/** Variadic ids: commander calls this once per value with the list so far. */
export function collectIds(value: string, previous: bigint[] = []): bigint[] {
  return [...previous, parseId(value)];
}
