/**
 * Parsers of single configuration values. They read no environment (config.ts does); each reports
 * problems by pushing a message that names the variable and never echoes a secret.
 */

import { parseMysqlUrl } from "./database-url.js";

export function parseIntVar(problems: string[], name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
    return min;
  }
  return Number(raw);
}

/** Splits "host:port" or "[v6]:port"; reports a problem naming `name` when malformed. */
export function parseAddr(
  problems: string[],
  raw: string,
  name = "HERALD_ADDR",
): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(raw);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) {
    problems.push(`${name} must be host:port, e.g. 127.0.0.1:8085 (got "${raw}")`);
    return { host: "127.0.0.1", port: 0 };
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

export function validateDatabaseUrl(problems: string[], raw: string): void {
  if (raw.startsWith("sqlite:")) {
    if (raw.length === "sqlite:".length)
      problems.push("DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/herald.db");
    return;
  }
  if (raw.startsWith("mysql://") || raw.startsWith("mariadb://")) {
    const target = parseMysqlUrl(raw);
    if (!target)
      problems.push(
        "DATABASE_URL is not a valid mysql:// URL (mysql://user:password@host:port[,host:port…]/database)",
      );
    else if (target.database === "")
      problems.push("DATABASE_URL must name a database, e.g. mysql://root@127.0.0.1:3306/herald");
    return;
  }
  // Do not echo the value: it may contain a password.
  problems.push("DATABASE_URL must start with sqlite: or mysql://");
}

/** Whether `host` is a loopback address (only this machine can reach a port bound to it). */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** "443,8443,9000-9100" → inclusive ranges; empty → any port. */
export function parseAllowedPorts(problems: string[], raw: string): "any" | [number, number][] {
  if (raw.trim() === "") return "any";
  const ranges: [number, number][] = [];
  for (const part of raw.split(",").map((p) => p.trim())) {
    const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (!match || from < 1 || to > 65535 || from > to) {
      problems.push(
        `HERALD_PUSH_ALLOWED_PORTS has an invalid entry "${part}" (use e.g. 443,8443 or 8000-8999)`,
      );
      continue;
    }
    ranges.push([from, to]);
  }
  return ranges;
}

/** HERALD_SECRET_KEYS: comma-separated base64 (or base64url) encodings of 32 random bytes each. */
export function parseSecretKeys(problems: string[], raw: string): Buffer[] {
  const entries = raw.trim() === "" ? [] : raw.split(",").map((e) => e.trim());
  const keys: Buffer[] = [];
  for (const [i, entry] of entries.entries()) {
    const key = /^[A-Za-z0-9+/_-]{43}=?$/.test(entry) ? Buffer.from(entry, "base64") : Buffer.alloc(0);
    // Never echo a key: say which entry is wrong, not what it is.
    if (key.length !== 32) {
      problems.push(
        `HERALD_SECRET_KEYS entry ${i + 1} must be the base64 of 32 random bytes (e.g. openssl rand -base64 32)`,
      );
    } else keys.push(key);
  }
  return keys;
}

/** A true/false setting (also 1/0); empty means `fallback`. Anything else is a problem naming `name`. */
export function parseBoolVar(
  problems: string[],
  name: string,
  raw: string | undefined,
  fallback: boolean,
): boolean {
  const value = (raw ?? "").trim();
  if (value === "") return fallback;
  if (!["true", "false", "1", "0"].includes(value)) problems.push(`${name} must be true or false`);
  return value === "true" || value === "1";
}
