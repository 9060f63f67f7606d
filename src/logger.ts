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

export interface OutageDampingOptions {
  /** After a line, the same message with an outage error is held back for this long, ms. Default 10 000. */
  windowMs?: number;
  /** The clock, epoch ms; injected for tests. */
  nowMs?: () => number;
}

/** Most distinct messages remembered; messages are code constants, so this is only a guard. */
const MAX_DAMPED_MESSAGES = 1_000;

/**
 * Wraps `logger` so that lines whose `error` field is an outage error (the database cannot be
 * reached: `isOutageError`) print at most once per `windowMs` per message, without a stack, and
 * carry how many were held back since (`suppressed`). During an outage every failing call and
 * every engine round would otherwise print its own line with a stack: thousands per minute,
 * drowning the one line that matters (the health monitor's state change). Counts go to metrics.
 */
export function dampOutageLogs(
  logger: Logger,
  isOutageError: (error: unknown) => boolean,
  options: OutageDampingOptions = {},
): Logger {
  const windowMs = options.windowMs ?? 10_000;
  const nowMs = options.nowMs ?? Date.now;
  const lastByMessage = new Map<string, { atMs: number; suppressed: number }>();
  const damped =
    (level: keyof Logger) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      const error = fields?.error;
      if (error === undefined || !isOutageError(error)) {
        logger[level](msg, fields);
        return;
      }
      const key = `${level}:${msg}`;
      const now = nowMs();
      const last = lastByMessage.get(key);
      if (last && now - last.atMs >= 0 && now - last.atMs < windowMs) {
        last.suppressed += 1;
        return;
      }
      if (!last && lastByMessage.size >= MAX_DAMPED_MESSAGES) lastByMessage.clear();
      lastByMessage.set(key, { atMs: now, suppressed: 0 });
      logger[level](msg, {
        ...fields,
        error: summarizeError(error),
        ...(last && last.suppressed > 0 ? { suppressed: last.suppressed } : {}),
      });
    };
  return { debug: damped("debug"), info: damped("info"), warn: damped("warn"), error: damped("error") };
}

/** An error's name, code and first message line, without its stack (for expected, repeated failures). */
export function summarizeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error).split("\n")[0] };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message.split("\n")[0],
    ...(typeof code === "string" || typeof code === "number" ? { code } : {}),
  };
}
