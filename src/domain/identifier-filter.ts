import { DomainError } from "./domain-error.js";

/**
 * Subscription identifier filters. A filter of "" or "*" matches every identifier; otherwise it is an
 * exact identifier or a glob in which `*` matches any run of characters (possibly empty). Every other
 * character, including `?`, `%`, `_`, `\`, `[` and regex metacharacters, stands for itself.
 */

/** Largest identifier filter, in UTF-8 bytes. */
export const MAX_IDENTIFIER_FILTER_BYTES = 1024;

const WILDCARD = "*";

/** True when the filter matches every identifier: "" or a filter made only of `*`. */
export function isMatchAll(filter: string): boolean {
  for (let i = 0; i < filter.length; i++) {
    if (filter[i] !== WILDCARD) return false;
  }
  return true;
}

/**
 * True when `identifier` matches `filter`. Runs in O(filter × identifier) worst case with O(1) memory
 * (the classic two-pointer wildcard algorithm: no regex, no backtracking blow-up).
 */
export function matchesIdentifier(filter: string, identifier: string): boolean {
  if (isMatchAll(filter)) return true;
  // Comparing UTF-16 code units is exact for well-formed strings: a literal astral character is a
  // surrogate pair in both strings, and a high surrogate can only ever match the start of a pair.
  let f = 0;
  let s = 0;
  let starAt = -1; // position in filter just after the last `*` seen
  let resumeAt = 0; // position in identifier where that `*` is assumed to stop matching
  while (s < identifier.length) {
    const fc = filter[f];
    if (fc === WILDCARD) {
      starAt = ++f;
      resumeAt = s;
    } else if (fc !== undefined && fc === identifier[s]) {
      f++;
      s++;
    } else if (starAt >= 0) {
      // Mismatch: let the last `*` swallow one more character and retry from there.
      f = starAt;
      s = ++resumeAt;
    } else {
      return false;
    }
  }
  while (filter[f] === WILDCARD) f++;
  return f === filter.length;
}

/**
 * Checks a filter: at most {@link MAX_IDENTIFIER_FILTER_BYTES} UTF-8 bytes, no control characters
 * (C0, DEL, C1) and no lone surrogates. Returns an invalid_argument error naming `field`, or `undefined`.
 */
export function validateIdentifierFilter(filter: string, field = "identifier"): DomainError | undefined {
  let bytes = 0;
  for (let i = 0; i < filter.length; i++) {
    const unit = filter.charCodeAt(i);
    if (unit <= 0x1f || (unit >= 0x7f && unit <= 0x9f)) {
      return DomainError.invalid(field, "must not contain control characters");
    }
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = filter.charCodeAt(i + 1); // NaN past the end
      if (!(next >= 0xdc00 && next <= 0xdfff)) return DomainError.invalid(field, "must be valid UTF-8");
      bytes += 4;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return DomainError.invalid(field, "must be valid UTF-8");
    } else {
      bytes += unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3;
    }
    if (bytes > MAX_IDENTIFIER_FILTER_BYTES) {
      return DomainError.invalid(field, `must be at most ${MAX_IDENTIFIER_FILTER_BYTES} bytes`);
    }
  }
  return undefined;
}

/** The escape character of patterns from {@link toSqlLikePattern}: pass it as `ESCAPE ?`. */
export const SQL_LIKE_ESCAPE = "\\";

/**
 * Converts a filter to a SQL LIKE pattern with `\` as escape character: `\`, `%` and `_` are escaped,
 * each run of `*` becomes `%`, and a match-all filter ("" included) becomes `%`.
 *
 * Storage traps, so that SQL agrees with {@link matchesIdentifier}: bind the escape as a parameter
 * (`LIKE ? ESCAPE ?` with {@link SQL_LIKE_ESCAPE}) because MySQL string literals treat `\` specially;
 * LIKE is case-insensitive in SQLite (ASCII) unless `PRAGMA case_sensitive_like = ON`, and in MySQL
 * under `_ci` collations, so compare a binary/`_bin` column or collation.
 */
export function toSqlLikePattern(filter: string): string {
  if (isMatchAll(filter)) return "%";
  let pattern = "";
  let previousWasStar = false;
  for (const ch of filter) {
    if (ch === WILDCARD) {
      if (!previousWasStar) pattern += "%";
      previousWasStar = true;
      continue;
    }
    previousWasStar = false;
    pattern += ch === "\\" || ch === "%" || ch === "_" ? `\\${ch}` : ch;
  }
  return pattern;
}
