import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_ATTRIBUTE_FILTER_BYTES, parseAttributeFilter } from "./attribute-filter.js";
import { DomainError } from "./domain-error.js";

/**
 * Property tests: random expressions are printed to source, parsed, and evaluated against a small
 * reference interpreter of the documented semantics; arbitrary input never escapes as anything but an
 * INVALID_ARGUMENT DomainError.
 */

type Ast =
  | { t: "has"; key: string }
  | { t: "eq" | "ne"; key: string; value: string }
  | { t: "prefix"; key: string; prefix: string }
  | { t: "not"; minus: boolean; operand: Ast }
  | { t: "and" | "or"; operands: Ast[] };

/** Unquoted-safe keys, keys that must be quoted, and names of Object.prototype members. */
const KEYS = ["a", "b-c", "x_1", "iana.org/lang", "é", "with space", "constructor"];
const VALUES = ["", "v", "va", "vb", "w", 'q"\\', "日本"];

/** The documented semantics: `!=` negates `=`, so it is true when the attribute is absent. */
function reference(ast: Ast, attributes: Record<string, string>): boolean {
  const get = (key: string) => (Object.hasOwn(attributes, key) ? attributes[key] : undefined);
  switch (ast.t) {
    case "has":
      return get(ast.key) !== undefined;
    case "eq":
      return get(ast.key) === ast.value;
    case "ne":
      return get(ast.key) !== ast.value;
    case "prefix": {
      const actual = get(ast.key);
      return actual !== undefined && actual.slice(0, ast.prefix.length) === ast.prefix;
    }
    case "not":
      return !reference(ast.operand, attributes);
    case "and":
      return ast.operands.every((operand) => reference(operand, attributes));
    case "or":
      return ast.operands.some((operand) => reference(operand, attributes));
  }
}

function literal(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function key(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? name : literal(name);
}

/** Prints `ast` as filter source; compound operands are parenthesized, as AND/OR mixing requires. */
function print(ast: Ast): string {
  switch (ast.t) {
    case "has":
      return `attributes:${key(ast.key)}`;
    case "eq":
      return `attributes.${key(ast.key)} = ${literal(ast.value)}`;
    case "ne":
      return `attributes.${key(ast.key)} != ${literal(ast.value)}`;
    case "prefix":
      return `hasPrefix(attributes.${key(ast.key)}, ${literal(ast.prefix)})`;
    case "not": {
      const operand = ast.operand.t === "not" || ast.operand.t === "and" || ast.operand.t === "or";
      const body = operand ? `(${print(ast.operand)})` : print(ast.operand);
      return ast.minus ? `-${body}` : `NOT ${body}`;
    }
    case "and":
    case "or":
      return ast.operands
        .map((operand) =>
          operand.t === "and" || operand.t === "or" ? `(${print(operand)})` : print(operand),
        )
        .join(ast.t === "and" ? " AND " : " OR ");
  }
}

const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 3 }));

const { ast: astArb } = fc.letrec<{ ast: Ast }>((tie) => ({
  ast: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ t: fc.constant("has" as const), key: keyArb }),
    fc.record({ t: fc.constantFrom("eq" as const, "ne" as const), key: keyArb, value: valueArb }),
    fc.record({ t: fc.constant("prefix" as const), key: keyArb, prefix: valueArb }),
    fc.record({ t: fc.constant("not" as const), minus: fc.boolean(), operand: tie("ast") }),
    fc.record({
      t: fc.constantFrom("and" as const, "or" as const),
      operands: fc.array(tie("ast"), { minLength: 2, maxLength: 3 }),
    }),
  ),
}));

/** Expressions whose source fits the byte limit. */
const filterArb = astArb
  .map((ast) => ({ ast, source: print(ast) }))
  .filter(({ source }) => Buffer.byteLength(source) <= MAX_ATTRIBUTE_FILTER_BYTES - 8);

const attributesArb = fc
  .array(fc.tuple(keyArb, valueArb), { maxLength: 5 })
  .map((entries) => Object.fromEntries(entries) as Record<string, string>);

/** Parsing `source` either succeeds or throws an INVALID_ARGUMENT DomainError with a short message. */
function expectParsesOrRejects(source: string): void {
  try {
    parseAttributeFilter(source);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    const domainError = error as DomainError;
    expect(domainError.kind).toBe("invalid_argument");
    expect(domainError.field).toBe("filter");
    expect(domainError.message.startsWith("filter: ")).toBe(true);
    expect(domainError.message.length).toBeLessThanOrEqual(260);
  }
}

describe("attribute filter properties", () => {
  it("evaluates generated expressions like the reference interpreter", () => {
    fc.assert(
      fc.property(filterArb, attributesArb, ({ ast, source }, attributes) => {
        expect(parseAttributeFilter(source).matches(attributes)).toBe(reference(ast, attributes));
      }),
      { numRuns: 2000 },
    );
  });

  it("NOT (e) and -(e) are the negation of e", () => {
    fc.assert(
      fc.property(filterArb, attributesArb, ({ source }, attributes) => {
        const plain = parseAttributeFilter(source).matches(attributes);
        expect(parseAttributeFilter(`NOT (${source})`).matches(attributes)).toBe(!plain);
        expect(parseAttributeFilter(`-(${source})`).matches(attributes)).toBe(!plain);
      }),
      { numRuns: 1000 },
    );
  });

  it('attributes.k != "v" is NOT attributes.k = "v", whether or not k is present', () => {
    fc.assert(
      fc.property(keyArb, valueArb, attributesArb, (name, value, attributes) => {
        const equals = parseAttributeFilter(`attributes.${key(name)} = ${literal(value)}`);
        const notEquals = parseAttributeFilter(`attributes.${key(name)} != ${literal(value)}`);
        expect(notEquals.matches(attributes)).toBe(!equals.matches(attributes));
      }),
    );
  });

  it("decodes every escape form of a string literal back to the original value", () => {
    const escapedChar = (ch: string, form: number): string => {
      const cp = ch.codePointAt(0) as number;
      const hex = (digits: number) => cp.toString(16).padStart(digits, "0");
      if (form === 1 && cp <= 0xffff) return `\\u${hex(4)}`;
      if (form === 2) return `\\U${hex(8)}`;
      if (form === 3 && cp <= 0xff) return `\\x${hex(2)}`;
      if (form === 4 && cp <= 0xff) return `\\${cp.toString(8).padStart(3, "0")}`;
      if (ch === "\\" || ch === '"' || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return `\\u${hex(4)}`;
      return ch;
    };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }), fc.nat(4)), {
          maxLength: 20,
        }),
        (parts) => {
          const chars = parts.flatMap(([grapheme, form]) =>
            Array.from(grapheme).map((ch) => [ch, form] as const),
          );
          const value = chars.map(([ch]) => ch).join("");
          const source = `attributes.k = "${chars.map(([ch, form]) => escapedChar(ch, form)).join("")}"`;
          fc.pre(Buffer.byteLength(source) <= MAX_ATTRIBUTE_FILTER_BYTES);
          expect(parseAttributeFilter(source).matches({ k: value })).toBe(true);
        },
      ),
    );
  });

  it("never throws anything but an INVALID_ARGUMENT DomainError on arbitrary strings", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), expectParsesOrRejects), {
      numRuns: 2000,
    });
  });

  it("never throws anything but an INVALID_ARGUMENT DomainError on token soup", () => {
    const token = fc.constantFrom(
      "attributes",
      ".",
      ":",
      "a",
      "b-c",
      '"x"',
      "'y'",
      '"\\u00e9"',
      '"\\',
      "=",
      "!=",
      "AND",
      "OR",
      "NOT",
      "and",
      "-",
      "(",
      ")",
      "hasPrefix",
      ",",
      " ",
      "\n",
      "é",
    );
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 40 }).map((tokens) => tokens.join("")),
        expectParsesOrRejects,
      ),
      { numRuns: 3000 },
    );
  });

  it("accepts every generated expression with arbitrary whitespace between tokens", () => {
    fc.assert(
      fc.property(filterArb, fc.constantFrom(" ", "  ", "\n", "\t", "\r\n"), ({ source }, space) => {
        // Spaces only occur between tokens and inside literals; widen those between tokens.
        const widened = `${space}${source.replace(/ (AND|OR) /g, `${space}$1${space}`)}${space}`;
        // The bound applies to the whole text, leading and trailing space included.
        fc.pre(Buffer.byteLength(widened) <= MAX_ATTRIBUTE_FILTER_BYTES);
        expect(() => parseAttributeFilter(widened)).not.toThrow();
      }),
    );
  });
});
