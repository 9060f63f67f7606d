import { DomainError } from "./domain-error.js";

const encoder = new TextEncoder();

/** UTF-8 length of a string in bytes: limits in the contract are in bytes, not UTF-16 units. */
export function utf8Length(value: string): number {
  // Fast path: pure ASCII strings (the common case) are one byte per unit.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: checking for the ASCII range on purpose
  if (/^[\x00-\x7f]*$/.test(value)) return value.length;
  return encoder.encode(value).length;
}

/** Throws INVALID_ARGUMENT naming `field` when `value` is longer than `maxBytes` UTF-8 bytes. */
export function requireMaxBytes(field: string, value: string, maxBytes: number): void {
  if (utf8Length(value) > maxBytes) throw DomainError.invalid(field, `must be at most ${maxBytes} bytes`);
}

/** Throws INVALID_ARGUMENT naming `field` when `value` is empty. */
export function requireNonEmpty(field: string, value: string): void {
  if (value.length === 0) throw DomainError.invalid(field, "is required");
}

/** Throws INVALID_ARGUMENT when `value` holds control characters or lone surrogates (invalid UTF-8 on the wire). */
export function requirePrintable(field: string, value: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\x00-\x1f\x7f]/.test(value)) throw DomainError.invalid(field, "must not contain control characters");
  if (!value.isWellFormed()) throw DomainError.invalid(field, "must be valid UTF-8");
}
