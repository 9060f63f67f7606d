import { describe, expect, it } from "vitest";
import {
  isMatchAll,
  MAX_IDENTIFIER_FILTER_BYTES,
  matchesIdentifier,
  SQL_LIKE_ESCAPE,
  toSqlLikePattern,
  validateIdentifierFilter,
} from "./identifier-filter.js";

describe("matchesIdentifier", () => {
  it.each([
    ["", "user-123"],
    ["", ""],
    ["*", "anything at all"],
    ["*", ""],
    ["***", "x"],
  ])("treats %j as match-all for %j", (filter, identifier) => {
    expect(matchesIdentifier(filter, identifier)).toBe(true);
  });

  it.each([
    ["user-123", "user-123", true],
    ["user-123", "user-1234", false],
    ["user-123", "user-12", false],
    ["user-123", "USER-123", false],
    ["user-123", "", false],
  ])("matches the exact filter %j against %j: %j", (filter, identifier, expected) => {
    expect(matchesIdentifier(filter, identifier)).toBe(expected);
  });

  it.each([
    ["order-*", "order-", true],
    ["order-*", "order-42", true],
    ["order-*", "order", false],
    ["order-*", "xorder-42", false],
    ["*-done", "job-done", true],
    ["*-done", "-done", true],
    ["*-done", "job-done!", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "acb", false],
    ["a*b*c", "abcbc", true],
    ["a*b*c", "abcb", false],
    ["*a*", "banana", true],
    ["*a*", "xyz", false],
    ["a**b", "ab", true],
    ["a**b", "a-b", true],
    ["*ab", "aab", true],
    ["*aab", "aaab", true],
    ["a*", "", false],
    ["*a", "", false],
  ])("matches the glob %j against %j: %j", (filter, identifier, expected) => {
    expect(matchesIdentifier(filter, identifier)).toBe(expected);
  });

  it.each([
    ["user?", "userX", false],
    ["user?", "user?", true],
    ["50%", "50%", true],
    ["50%", "500", false],
    ["a_b", "axb", false],
    ["a_b", "a_b", true],
    ["a\\*b", "a\\xb", true],
    ["a\\b", "a\\b", true],
    ["[ab]", "a", false],
    ["[ab]", "[ab]", true],
    ["a.c", "abc", false],
    ["^a+$", "^a+$", true],
    ["(a|b)", "a", false],
  ])("treats every character but * literally: %j against %j is %j", (filter, identifier, expected) => {
    expect(matchesIdentifier(filter, identifier)).toBe(expected);
  });

  it("lets * match a literal star in the identifier", () => {
    expect(matchesIdentifier("a*c", "a*c")).toBe(true);
  });

  it.each([
    ["café-*", "café-au-lait", true],
    ["*-日本", "東京-日本", true],
    ["😀*", "😀😀", true],
    ["*😀", "x😀", true],
    ["😀", "😁", false],
    ["a*😀*b", "a-😀-b", true],
  ])("matches unicode filter %j against %j: %j", (filter, identifier, expected) => {
    expect(matchesIdentifier(filter, identifier)).toBe(expected);
  });

  it("handles pathological patterns without backtracking blow-up", () => {
    const filter = `${"a*".repeat(500)}b`;
    const identifier = "a".repeat(1000);
    const startedAt = performance.now();
    expect(matchesIdentifier(filter, identifier)).toBe(false);
    expect(performance.now() - startedAt).toBeLessThan(1000);
  });
});

describe("isMatchAll", () => {
  it.each([
    ["", true],
    ["*", true],
    ["**", true],
    ["a", false],
    ["*a", false],
    [" ", false],
  ])("reports %j as match-all: %j", (filter, expected) => {
    expect(isMatchAll(filter)).toBe(expected);
  });
});

describe("validateIdentifierFilter", () => {
  it("accepts an ordinary glob", () => {
    expect(validateIdentifierFilter("order-*")).toBeUndefined();
  });

  it("accepts the empty filter", () => {
    expect(validateIdentifierFilter("")).toBeUndefined();
  });

  it("accepts exactly the maximum number of bytes", () => {
    expect(validateIdentifierFilter("a".repeat(MAX_IDENTIFIER_FILTER_BYTES))).toBeUndefined();
  });

  it("rejects one byte over the maximum", () => {
    const err = validateIdentifierFilter("a".repeat(MAX_IDENTIFIER_FILTER_BYTES + 1));
    expect(err?.kind).toBe("invalid_argument");
    expect(err?.field).toBe("identifier");
    expect(err?.message).toBe("identifier: must be at most 1024 bytes");
  });

  it("counts bytes in UTF-8, not characters", () => {
    // "é" is two bytes: 512 of them fit, 513 do not.
    expect(validateIdentifierFilter("é".repeat(512))).toBeUndefined();
    expect(validateIdentifierFilter("é".repeat(513))).toBeDefined();
  });

  it("counts an astral character as four bytes", () => {
    expect(validateIdentifierFilter("😀".repeat(256))).toBeUndefined();
    expect(validateIdentifierFilter(`${"😀".repeat(256)}a`)).toBeDefined();
  });

  it.each(["a\nb", "\u0000", "tab\t", "del\u007f", "c1\u0085"])(
    "rejects control characters in %j",
    (filter) => {
      expect(validateIdentifierFilter(filter)?.message).toBe(
        "identifier: must not contain control characters",
      );
    },
  );

  it.each(["\ud800", "a\udc00", "\ud83dx"])("rejects the lone surrogate in %j", (filter) => {
    expect(validateIdentifierFilter(filter)?.message).toBe("identifier: must be valid UTF-8");
  });

  it("names the given field", () => {
    expect(validateIdentifierFilter("\n", "identifier_filter")?.field).toBe("identifier_filter");
  });
});

describe("toSqlLikePattern", () => {
  it.each([
    ["", "%"],
    ["*", "%"],
    ["**", "%"],
    ["user-123", "user-123"],
    ["order-*", "order-%"],
    ["*-done", "%-done"],
    ["a**b", "a%b"],
    ["a*b*c", "a%b%c"],
    ["50%", "50\\%"],
    ["a_b", "a\\_b"],
    ["a\\b", "a\\\\b"],
    ["*_%\\*", "%\\_\\%\\\\%"],
    ["user?", "user?"],
    ["[ab]", "[ab]"],
    ["😀*", "😀%"],
  ])("converts %j to %j", (filter, pattern) => {
    expect(toSqlLikePattern(filter)).toBe(pattern);
  });

  it("uses backslash as the escape character", () => {
    expect(SQL_LIKE_ESCAPE).toBe("\\");
  });

  it.each([
    ["a_b*", "a_bc", "axbc"],
    ["50%*", "50%x", "500x"],
    ["a\\*", "a\\z", "az"],
    ["*x*", "yxy", "yyy"],
  ])("agrees with matchesIdentifier for %j (match %j, no match %j)", (filter, hit, miss) => {
    const matchesLike = (value: string) => likeMatches(toSqlLikePattern(filter), value);
    expect(matchesLike(hit)).toBe(matchesIdentifier(filter, hit));
    expect(matchesLike(miss)).toBe(matchesIdentifier(filter, miss));
    expect(matchesLike(hit)).toBe(true);
    expect(matchesLike(miss)).toBe(false);
  });
});

/** A small reference LIKE evaluator (escape `\`), used only to cross-check the converter. */
function likeMatches(pattern: string, value: string): boolean {
  let regex = "^";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === "\\") {
      const next = pattern[++i] ?? "";
      regex += next.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    } else if (ch === "%") regex += "[\\s\\S]*";
    else if (ch === "_") regex += "[\\s\\S]";
    else regex += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`${regex}$`, "u").test(value);
}
