import { DomainError } from "./domain-error.js";

/**
 * Static headers a subscription adds to every push (for example `Authorization: Bearer …` for an
 * API gateway, or `x-api-key`). Write-only: stored sealed, never returned or logged; only their
 * names are shown.
 */
export type PushHeaders = Readonly<Record<string, string>>;

export const PUSH_HEADER_LIMITS = Object.freeze({
  maxHeaders: 20,
  maxNameBytes: 128,
  maxValueBytes: 4096,
  /** Names and values together. */
  maxTotalBytes: 16_384,
});

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII, space and tab (no CR/LF: a value cannot smuggle another header).
const VALUE = /^[\t\x20-\x7e]*$/;
/**
 * Names Herald sets itself or that frame the request: transport, the Standard Webhooks signature
 * and Pub/Sub's metadata headers. Credentials such as `authorization` are what static headers are for.
 */
const RESERVED = new RegExp(
  "^(host|connection|content-.*|transfer-encoding|te|trailer|upgrade|keep-alive|expect|user-agent|" +
    "proxy-connection|webhook-.*|x-goog-pubsub-.*)$",
  "i",
);

/** Validates static push headers; names are case-insensitive and must be unique. */
export function validatePushHeaders(field: string, headers: PushHeaders): void {
  const entries = Object.entries(headers);
  const { maxHeaders, maxNameBytes, maxValueBytes, maxTotalBytes } = PUSH_HEADER_LIMITS;
  if (entries.length > maxHeaders)
    throw DomainError.invalid(field, `must have at most ${maxHeaders} headers`);
  const seen = new Set<string>();
  let totalBytes = 0;
  for (const [name, value] of entries) {
    // The name is echoed in errors; the value never is.
    const shown = name.slice(0, 64);
    if (!TOKEN.test(name) || name.length > maxNameBytes) {
      throw DomainError.invalid(
        field,
        `"${shown}" is not a valid header name (an HTTP token of 1..${maxNameBytes})`,
      );
    }
    if (RESERVED.test(name))
      throw DomainError.invalid(field, `"${shown}" is set by Herald and cannot be overridden`);
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw DomainError.invalid(field, `"${shown}" is given twice`);
    seen.add(lower);
    if (!VALUE.test(value) || value.length > maxValueBytes) {
      throw DomainError.invalid(
        field,
        `the value of "${shown}" must be printable ASCII of at most ${maxValueBytes} bytes`,
      );
    }
    totalBytes += name.length + value.length; // ASCII only: characters are bytes
  }
  if (totalBytes > maxTotalBytes)
    throw DomainError.invalid(field, `must total at most ${maxTotalBytes} bytes`);
}

/** The headers with lower-case names (HTTP names are case-insensitive), in a stable order. */
export function normalizePushHeaders(headers: PushHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .map(([name, value]) => [name.toLowerCase(), value] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
