import { describe, expect, it } from "vitest";
import {
  isEmptyAttributeFilter,
  MAX_ATTRIBUTE_FILTER_BYTES,
  parseAttributeFilter,
} from "./attribute-filter.js";
import { DomainError } from "./domain-error.js";

/** Parses `filter` and evaluates it against `attributes`. */
function matches(filter: string, attributes: Record<string, string>): boolean {
  return parseAttributeFilter(filter).matches(attributes);
}

/** The DomainError that parsing `filter` throws (fails the test if it parses). */
function parseError(filter: string, field?: string): DomainError {
  try {
    parseAttributeFilter(filter, field);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(filter)} to be rejected`);
}

describe("empty filters", () => {
  it.each(["", " ", "\t\n\r  "])("treats %j as no filter: every message matches", (filter) => {
    expect(isEmptyAttributeFilter(filter)).toBe(true);
    expect(matches(filter, {})).toBe(true);
    expect(matches(filter, { a: "b" })).toBe(true);
  });

  it("does not treat a filter with a condition as empty", () => {
    expect(isEmptyAttributeFilter(" attributes:a ")).toBe(false);
  });

  it("keeps the source as written", () => {
    expect(parseAttributeFilter("  ").source).toBe("  ");
    expect(parseAttributeFilter(" attributes:a ").source).toBe(" attributes:a ");
  });

  it("returns a frozen filter", () => {
    expect(Object.isFrozen(parseAttributeFilter(""))).toBe(true);
    expect(Object.isFrozen(parseAttributeFilter("attributes:a"))).toBe(true);
  });
});

describe("attributes:KEY (has)", () => {
  it("matches a message with the attribute, whatever its value", () => {
    expect(matches("attributes:domain", { domain: "com" })).toBe(true);
    expect(matches("attributes:domain", { domain: "" })).toBe(true);
  });

  it("does not match a message without the attribute", () => {
    expect(matches("attributes:domain", { other: "com" })).toBe(false);
    expect(matches("attributes:domain", {})).toBe(false);
  });

  it("compares keys case-sensitively", () => {
    expect(matches("attributes:Domain", { domain: "com" })).toBe(false);
  });

  it("accepts whitespace around the colon", () => {
    expect(matches("attributes : domain", { domain: "com" })).toBe(true);
  });

  it("negated with NOT, matches only messages without the attribute", () => {
    expect(matches("NOT attributes:domain", {})).toBe(true);
    expect(matches("NOT attributes:domain", { domain: "com" })).toBe(false);
  });

  it("negated with the unary minus, matches only messages without the attribute", () => {
    expect(matches("-attributes:domain", {})).toBe(true);
    expect(matches("-attributes:domain", { domain: "com" })).toBe(false);
    expect(matches("- attributes:domain", { domain: "com" })).toBe(false);
  });
});

describe("attributes.KEY = and != (equality)", () => {
  it("= matches only the exact value", () => {
    expect(matches('attributes.domain = "com"', { domain: "com" })).toBe(true);
    expect(matches('attributes.domain = "com"', { domain: "org" })).toBe(false);
    expect(matches('attributes.domain = "com"', { domain: "COM" })).toBe(false);
    expect(matches('attributes.domain = "com"', { domain: "com " })).toBe(false);
  });

  it("= is false when the attribute is absent", () => {
    expect(matches('attributes.domain = "com"', {})).toBe(false);
  });

  it('= "" matches an attribute whose value is empty, not an absent one', () => {
    expect(matches('attributes.domain = ""', { domain: "" })).toBe(true);
    expect(matches('attributes.domain = ""', {})).toBe(false);
  });

  it("!= matches another value and rejects the same value", () => {
    expect(matches('attributes.domain != "com"', { domain: "org" })).toBe(true);
    expect(matches('attributes.domain != "com"', { domain: "com" })).toBe(false);
  });

  it("!= is true when the attribute is absent (it is the negation of =)", () => {
    expect(matches('attributes.domain != "com"', {})).toBe(true);
  });

  it("accepts the operators without surrounding whitespace", () => {
    expect(matches('attributes.domain="com"', { domain: "com" })).toBe(true);
    expect(matches('attributes.domain!="com"', { domain: "com" })).toBe(false);
  });
});

describe("hasPrefix(attributes.KEY, prefix)", () => {
  it("matches values that start with the prefix", () => {
    expect(matches('hasPrefix(attributes.domain, "co")', { domain: "com" })).toBe(true);
    expect(matches('hasPrefix(attributes.domain, "co")', { domain: "co" })).toBe(true);
  });

  it("does not match values that do not start with the prefix", () => {
    expect(matches('hasPrefix(attributes.domain, "co")', { domain: "org" })).toBe(false);
    expect(matches('hasPrefix(attributes.domain, "co")', { domain: "c" })).toBe(false);
    expect(matches('hasPrefix(attributes.domain, "co")', { domain: "xco" })).toBe(false);
    expect(matches('hasPrefix(attributes.domain, "co")', { domain: "Com" })).toBe(false);
  });

  it("is false when the attribute is absent", () => {
    expect(matches('hasPrefix(attributes.domain, "co")', {})).toBe(false);
  });

  it("with an empty prefix, matches exactly the messages that have the attribute", () => {
    expect(matches('hasPrefix(attributes.domain, "")', { domain: "anything" })).toBe(true);
    expect(matches('hasPrefix(attributes.domain, "")', { domain: "" })).toBe(true);
    expect(matches('hasPrefix(attributes.domain, "")', {})).toBe(false);
  });

  it("treats regex metacharacters in the prefix literally", () => {
    expect(matches('hasPrefix(attributes.p, ".*")', { p: ".*x" })).toBe(true);
    expect(matches('hasPrefix(attributes.p, ".*")', { p: "abc" })).toBe(false);
  });

  it("negated, matches messages without the attribute or with another prefix", () => {
    expect(matches('NOT hasPrefix(attributes.domain, "co")', {})).toBe(true);
    expect(matches('NOT hasPrefix(attributes.domain, "co")', { domain: "org" })).toBe(true);
    expect(matches('NOT hasPrefix(attributes.domain, "co")', { domain: "com" })).toBe(false);
  });

  it("accepts whitespace inside the call and a quoted key", () => {
    expect(matches('hasPrefix ( attributes."a.b" , "x" )', { "a.b": "xy" })).toBe(true);
  });
});

describe("AND, OR, NOT and parentheses", () => {
  const both = { a: "1", b: "2" };
  const onlyA = { a: "1" };
  const onlyB = { b: "2" };

  it("AND needs every condition", () => {
    const filter = "attributes:a AND attributes:b";
    expect(matches(filter, both)).toBe(true);
    expect(matches(filter, onlyA)).toBe(false);
    expect(matches(filter, onlyB)).toBe(false);
  });

  it("OR needs any condition", () => {
    const filter = "attributes:a OR attributes:b";
    expect(matches(filter, onlyA)).toBe(true);
    expect(matches(filter, onlyB)).toBe(true);
    expect(matches(filter, {})).toBe(false);
  });

  it("chains more than two operands of the same operator", () => {
    expect(matches("attributes:a AND attributes:b AND attributes:c", { a: "", b: "", c: "" })).toBe(true);
    expect(matches("attributes:a AND attributes:b AND attributes:c", { a: "", b: "" })).toBe(false);
    expect(matches("attributes:a OR attributes:b OR attributes:c", { c: "" })).toBe(true);
  });

  it("binds NOT tighter than AND", () => {
    // (NOT a) AND b, not NOT (a AND b)
    expect(matches("NOT attributes:a AND attributes:b", onlyB)).toBe(true);
    expect(matches("NOT attributes:a AND attributes:b", {})).toBe(false);
  });

  it("binds NOT tighter than OR", () => {
    // (NOT a) OR b, not NOT (a OR b)
    expect(matches("NOT attributes:a OR attributes:b", both)).toBe(true);
    expect(matches("NOT attributes:a OR attributes:b", onlyA)).toBe(false);
  });

  it("binds NOT to the whole comparison that follows it", () => {
    const filter = 'attributes:"iana.org/language_tag" AND NOT attributes.name = "com"';
    expect(matches(filter, { "iana.org/language_tag": "en" })).toBe(true);
    expect(matches(filter, { "iana.org/language_tag": "en", name: "org" })).toBe(true);
    expect(matches(filter, { "iana.org/language_tag": "en", name: "com" })).toBe(false);
  });

  it("negates a parenthesized group", () => {
    expect(matches("NOT (attributes:a OR attributes:b)", {})).toBe(true);
    expect(matches("NOT (attributes:a OR attributes:b)", onlyB)).toBe(false);
    expect(matches("NOT(attributes:a AND attributes:b)", onlyA)).toBe(true);
    expect(matches("-(attributes:a AND attributes:b)", both)).toBe(false);
  });

  it("allows a double negation through parentheses", () => {
    expect(matches("NOT (NOT attributes:a)", onlyA)).toBe(true);
    expect(matches("-(-attributes:a)", {})).toBe(false);
  });

  it("combines AND and OR through parentheses", () => {
    const filter =
      'attributes:"iana.org/language_tag" AND (attributes.name = "net" OR attributes.name = "org")';
    expect(matches(filter, { "iana.org/language_tag": "en", name: "org" })).toBe(true);
    expect(matches(filter, { "iana.org/language_tag": "en", name: "com" })).toBe(false);
    expect(matches(filter, { name: "org" })).toBe(false);
  });

  it("groups with redundant and nested parentheses", () => {
    expect(matches("((attributes:a))", onlyA)).toBe(true);
    const filter = "(attributes:a OR (attributes:b AND attributes:c)) AND NOT attributes:d";
    expect(matches(filter, { b: "", c: "" })).toBe(true);
    expect(matches(filter, { b: "" })).toBe(false);
    expect(matches(filter, { a: "", d: "" })).toBe(false);
  });

  it("evaluates the unary-minus example of the docs", () => {
    const filter = 'attributes.name = "com" AND -attributes:"iana.org/language_tag"';
    expect(matches(filter, { name: "com" })).toBe(true);
    expect(matches(filter, { name: "com", "iana.org/language_tag": "en" })).toBe(false);
  });

  it("accepts line breaks and tabs as whitespace between tokens", () => {
    expect(matches("attributes:a\n\tAND\r\n attributes:b", both)).toBe(true);
  });

  it("looks up each attribute a bounded number of times (evaluation is linear)", () => {
    let lookups = 0;
    const counted = new Proxy<Record<string, string>>(
      { a: "1" },
      {
        getOwnPropertyDescriptor(target, key) {
          lookups++;
          return Reflect.getOwnPropertyDescriptor(target, key);
        },
        get(target, key, receiver) {
          lookups++;
          return Reflect.get(target, key, receiver);
        },
      },
    );
    const conditions = Array.from({ length: 12 }, (_, i) => `attributes:k${i}`);
    const filter = parseAttributeFilter(`(${conditions.join(" OR ")}) OR attributes:a`);
    expect(filter.matches(counted)).toBe(true);
    expect(lookups).toBeLessThanOrEqual(2 * (conditions.length + 1));
  });
});

describe("keys", () => {
  it("accepts unquoted keys made of letters, digits, hyphens and underscores", () => {
    expect(matches('attributes.ce-type = "x"', { "ce-type": "x" })).toBe(true);
    expect(matches('attributes.1_a-B = "x"', { "1_a-B": "x" })).toBe(true);
    expect(matches("attributes:-leading", { "-leading": "" })).toBe(true);
  });

  it("accepts quoted keys with any other characters", () => {
    expect(matches('attributes."iana.org/language_tag" = "en"', { "iana.org/language_tag": "en" })).toBe(
      true,
    );
    expect(matches('attributes:"with space"', { "with space": "" })).toBe(true);
    expect(matches("attributes:'single'", { single: "" })).toBe(true);
  });

  it("decodes escapes in quoted keys", () => {
    expect(matches('attributes:"\\u307F\\u3093\\u306A"', { みんな: "" })).toBe(true);
  });

  it("does not see inherited properties as attributes", () => {
    expect(matches("attributes:constructor", {})).toBe(false);
    expect(matches("attributes:toString", {})).toBe(false);
    expect(matches('attributes:"__proto__"', {})).toBe(false);
    expect(matches('attributes.constructor != "x"', {})).toBe(true);
    expect(matches('hasPrefix(attributes.toString, "")', {})).toBe(false);
  });

  it("ignores string properties inherited from a prototype", () => {
    const attributes = Object.create({ inherited: "x" }) as Record<string, string>;
    expect(matches("attributes:inherited", attributes)).toBe(false);
    expect(matches('attributes.inherited = "x"', attributes)).toBe(false);
    expect(matches('hasPrefix(attributes.inherited, "x")', attributes)).toBe(false);
  });

  it("finds an own attribute named like an Object property", () => {
    const attributes = JSON.parse('{"__proto__": "p", "constructor": "c"}') as Record<string, string>;
    expect(matches('attributes."__proto__" = "p"', attributes)).toBe(true);
    expect(matches('attributes.constructor = "c"', attributes)).toBe(true);
  });
});

describe("string literals", () => {
  it.each([
    ['"\\""', '"'],
    ['"\\\\"', "\\"],
    ['"\\\'"', "'"],
    ['"\\`"', "`"],
    ['"\\?"', "?"],
    ['"\\a\\b\\f\\n\\r\\t\\v"', "\x07\b\f\n\r\t\v"],
    ['"\\x41\\X4a"', "AJ"],
    ['"\\u00e9"', "é"],
    ['"\\U0001F600"', "😀"],
    ['"\\101\\000\\377"', "A\0ÿ"],
    ['"\\303\\277"', "Ã¿"],
    ["'it\\'s'", "it's"],
    ["'say \"hi\"'", 'say "hi"'],
    ["\"say 'hi'\"", "say 'hi'"],
    ['"日本語 😀"', "日本語 😀"],
  ])("decodes %s as %j", (literal, value) => {
    expect(matches(`attributes.k = ${literal}`, { k: value })).toBe(true);
    expect(matches(`attributes.k = ${literal}`, { k: `${value}x` })).toBe(false);
  });
});

describe("syntax errors", () => {
  it.each([
    // The docs' invalid examples.
    ['"com" = attributes.name', "expected a condition", 1],
    ["attributes.name = attributes.website", 'expected a string literal after "="', 19],
    [
      'attributes:"iana.org/language_tag" AND attributes.name = "net" OR attributes.name = "org"',
      "AND and OR cannot be mixed without parentheses",
      64,
    ],
    ['attributes.name = "com" AND ("net" OR "org")', "expected a condition", 30],
    ["attributes:\\u307F\\u3093\\u306A", "expected an attribute key", 12],
    // Operators and operands.
    ["attributes.a = unquoted", 'expected a string literal after "="', 16],
    ["attributes.a != 1", 'expected a string literal after "!="', 17],
    ["attributes.a", 'expected "=" or "!="', 13],
    ['attributes.a == "x"', 'expected a string literal after "="', 15],
    ['attributes.a > "x"', 'expected "=" or "!="', 14],
    ["attributes", 'expected "." or ":" after attributes', 11],
    ['attributes = "x"', 'expected "." or ":" after attributes', 12],
    ["attributes.", "expected an attribute key", 12],
    ['attributes."" = "x"', "an attribute key must not be empty", 12],
    ['attributes.iana.org/x = "en"', "quote keys containing characters other than", 16],
    ['Attributes.a = "x"', 'unknown name "Attributes"', 1],
    ['labels.a = "x"', 'unknown name "labels"', 1],
    // Boolean operators.
    ["attributes:a and attributes:b", "boolean operators must be uppercase", 14],
    ["not attributes:a", "boolean operators must be uppercase", 1],
    ["attributes:a Or attributes:b", "boolean operators must be uppercase", 14],
    ["attributes:a OR attributes:b AND attributes:c", "AND and OR cannot be mixed", 30],
    ["attributes:a AND", "found the end of the filter", 17],
    ["AND attributes:a", "expected a condition", 1],
    ["attributes:a attributes:b", "expected AND, OR or the end of the filter", 14],
    ["attributes:a AND OR attributes:b", "expected a condition", 18],
    ["NOT NOT attributes:a", "negated only once", 5],
    ["--attributes:a", "negated only once", 2],
    ["NOT", "found the end of the filter", 4],
    ["NOTattributes:a", 'unknown name "NOTattributes"', 1],
    // Parentheses.
    ["(attributes:a", 'expected ")" to close the "(" at position 1', 14],
    ["attributes:a)", 'unmatched ")"', 13],
    ["()", "expected a condition", 2],
    ["(attributes:a OR attributes:b", 'expected ")"', 30],
    // Functions.
    ['hasSuffix(attributes.a, "x")', 'unknown function "hasSuffix"', 1],
    ['hasprefix(attributes.a, "x")', 'unknown function "hasprefix"', 1],
    ['hasPrefix attributes.a, "x"', 'expected "(" after hasPrefix', 11],
    ['hasPrefix(attributes:a, "x")', "expected attributes.KEY as the first argument", 11],
    ["hasPrefix(attributes.a)", 'expected "," after the first argument', 23],
    ['hasPrefix(attributes.a, "x", "y")', 'expected ")" after the second argument', 28],
    ["hasPrefix(attributes.a, x)", "expected a string literal as the second argument", 25],
    // String literals.
    ['attributes.a = "abc', "unterminated string literal", 16],
    ['attributes.a = "abc\\"', "unterminated string literal", 16],
    ['attributes.a = "\\q"', 'invalid escape sequence "\\q"', 17],
    ['attributes.a = "\\8"', 'invalid escape sequence "\\8"', 17],
    ['attributes.a = "\\12"', "octal escape needs three octal digits", 17],
    ['attributes.a = "\\400"', 'invalid escape sequence "\\4"', 17],
    ['attributes.a = "\\x4"', '"\\x" must be followed by 2 hexadecimal digits', 17],
    ['attributes.a = "\\u12G4"', '"\\u" must be followed by 4 hexadecimal digits', 17],
    ['attributes.a = "\\U0011FFFF"', "is not a Unicode character", 17],
    ['attributes.a = "\\uD83D"', "is not a Unicode character", 17],
    ['attributes.a = "a\tb"', "must be escaped", 18],
    ['attributes.a = "a\nb"', "must be escaped", 18],
  ])("rejects %j: %s (position %i)", (filter, fragment, position) => {
    const error = parseError(filter);
    expect(error.kind).toBe("invalid_argument");
    expect(error.reason).toBe("INVALID_ARGUMENT");
    expect(error.field).toBe("filter");
    expect(error.message.startsWith("filter: ")).toBe(true);
    expect(error.message).toContain(fragment);
    expect(error.message).toMatch(new RegExp(`at position ${position}$`));
  });

  it("names the given field", () => {
    const error = parseError("attributes:a AND", "subscription.filter");
    expect(error.field).toBe("subscription.filter");
    expect(error.message).toMatch(/^subscription\.filter: /);
  });

  it("counts positions in characters, not UTF-16 units", () => {
    expect(parseError('attributes:"😀" x').message).toMatch(/at position 16$/);
  });

  it("quotes at most a short piece of the input", () => {
    const name = "x".repeat(200);
    const message = parseError(`${name}:a`).message;
    expect(message).toContain(`"${"x".repeat(24)}…"`);
    expect(message).not.toContain("x".repeat(25));
  });
});

describe("limits and characters", () => {
  it(`accepts a filter of exactly ${MAX_ATTRIBUTE_FILTER_BYTES} bytes`, () => {
    const prefix = 'attributes.k = "';
    const filter = `${prefix}${"v".repeat(MAX_ATTRIBUTE_FILTER_BYTES - prefix.length - 1)}"`;
    expect(Buffer.byteLength(filter)).toBe(256);
    expect(parseAttributeFilter(filter).matches({ k: "v".repeat(239) })).toBe(true);
  });

  it("rejects a filter one byte over the limit", () => {
    const prefix = 'attributes.k = "';
    const filter = `${prefix}${"v".repeat(MAX_ATTRIBUTE_FILTER_BYTES - prefix.length)}"`;
    expect(parseError(filter).message).toBe("filter: must be at most 256 bytes (UTF-8)");
  });

  it("counts the limit in UTF-8 bytes, not characters", () => {
    const prefix = 'attributes.k = "';
    const fits = `${prefix}${"é".repeat(119)}v"`; // 16 + 238 + 1 + 1 = 256 bytes
    expect(Buffer.byteLength(fits)).toBe(256);
    expect(() => parseAttributeFilter(fits)).not.toThrow();
    expect(parseError(`${prefix}${"é".repeat(120)}"`).message).toContain("at most 256 bytes");
    expect(parseError(`${prefix}${"😀".repeat(60)}"`).message).toContain("at most 256 bytes");
  });

  it("rejects whitespace-only input over the limit", () => {
    expect(parseError(" ".repeat(257)).message).toContain("at most 256 bytes");
  });

  it("rejects a huge input quickly without echoing it", () => {
    const error = parseError(`attributes:${"a".repeat(1_000_000)}`);
    expect(error.message).toBe("filter: must be at most 256 bytes (UTF-8)");
  });

  it("accepts 64 levels of parentheses", () => {
    const filter = `${"(".repeat(64)}attributes:a${")".repeat(64)}`;
    expect(parseAttributeFilter(filter).matches({ a: "" })).toBe(true);
  });

  it("rejects 65 levels of parentheses", () => {
    const filter = `${"(".repeat(65)}attributes:a${")".repeat(65)}`;
    expect(parseError(filter).message).toBe("filter: parentheses nest deeper than 64 levels at position 65");
  });

  it("rejects deep nesting through negations too", () => {
    const filter = `${"-(".repeat(65)}attributes:a${")".repeat(65)}`;
    expect(parseError(filter).message).toContain("deeper than 64 levels");
  });

  it("rejects a hostile run of opening parentheses", () => {
    expect(parseError("(".repeat(256)).message).toContain("deeper than 64 levels");
  });

  it.each([
    ["\0", "U+0000"],
    ["\x07", "U+0007"],
    ["\x1b", "U+001B"],
    ["\x7f", "U+007F"],
    ["\x85", "U+0085"],
    ["\v", "U+000B"],
    ["\f", "U+000C"],
  ])("rejects the control character %j", (character, code) => {
    expect(parseError(`attributes:a${character}`).message).toContain(
      `control character ${code} at position 13`,
    );
    expect(parseError(`attributes.a = "${character}"`).message).toContain(`control character ${code}`);
  });

  it("rejects lone surrogates", () => {
    expect(parseError('attributes.a = "\uD83D"').message).toContain("lone surrogate at position 17");
    expect(parseError('attributes.a = "\uDE00"').message).toContain("lone surrogate");
  });

  it("rejects a non-ASCII character outside a string literal", () => {
    expect(parseError("attributes:é").message).toContain('found "é"');
  });
});
