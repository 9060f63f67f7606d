import { pino } from "pino";
import type { LogLevel } from "./config/config.js";

/** Structured logging as one JSON object per line. Callers never pass secrets or message bodies. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Field paths that must never reach a log line, whatever a caller passes: payloads and attributes,
 * ack ids, signing secrets, credentials. Defence in depth — callers are expected not to log them.
 */
const REDACTED_PATHS = [
  "data",
  "*.data",
  "attributes",
  "*.attributes",
  "ackId",
  "ackIds",
  "*.ackId",
  "*.ackIds",
  "secret",
  "signingSecret",
  "*.signingSecret",
  "authorization",
  "headers.authorization",
  "headers.cookie",
  "*.headers.authorization",
  "password",
  "*.password",
  "databaseUrl",
  "DATABASE_URL",
];

/**
 * Errors keep their name, code, message and stack only: drivers attach the failing statement and
 * its bound values as extra properties, which may carry message data.
 */
function describe(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: value.message,
      stack: value.stack,
      ...(typeof code === "string" || typeof code === "number" ? { code } : {}),
    };
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** A logger writing JSON lines (pino) to `write` (stderr by default) at or above `level`. */
export function createJsonLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const log = pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    },
    { write },
  );
  const emit = (at: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => {
    if (!log.isLevelEnabled(at)) return;
    const entry: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields ?? {})) entry[k] = describe(v);
    log[at](entry, msg);
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
  };
}
