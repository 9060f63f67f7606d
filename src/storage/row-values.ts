/**
 * Conversions from driver values to domain values. mysql2 (with bigNumberStrings) returns BIGINT
 * and COUNT as strings; better-sqlite3 (with safeIntegers) returns every integer as a BigInt.
 * Ids stay exact as bigint; counts, sizes and epoch-ms instants are safe as numbers.
 */

export function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" || typeof value === "string") return BigInt(value);
  throw new TypeError(`expected an integer column, got ${typeof value}`);
}

export function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint" || typeof value === "string") return Number(value);
  throw new TypeError(`expected a numeric column, got ${typeof value}`);
}

export function toNumberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : toNumber(value);
}

export function toBoolean(value: unknown): boolean {
  return value === true || value === 1 || value === 1n || value === "1";
}

export function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value === null || value === undefined) return new Uint8Array();
  throw new TypeError("expected a binary column");
}

export function toStringOrEmpty(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

/**
 * Ids are bound as decimal strings: knex's typings and its error formatting do not accept bigint.
 * MariaDB compares a BIGINT column with an integer-like string exactly (checked above 2^53 by the
 * conformance suite).
 */
export function idParam(id: bigint): string {
  return id.toString();
}
