import { DomainError } from "./domain-error.js";

/**
 * The Pub/Sub subscription filter language over message attributes
 * (https://cloud.google.com/pubsub/docs/subscription-message-filter). A filter is parsed once, when the
 * subscription is created, and then evaluated against each message's attributes.
 *
 * ```
 * filter     = ws [ expression ws ]
 * expression = term *( ws "AND" ws term )              ; one operator per level: AND and OR
 *            / term *( ws "OR" ws term )               ; may be mixed only through parentheses
 * term       = [ "NOT" ws / "-" ws ] primary           ; NOT binds tightest; "-" is the unary-minus form
 * primary    = "(" ws expression ws ")"
 *            / "attributes" ws ":" ws key               ; the attribute exists
 *            / "attributes." key ws ( "=" / "!=" ) ws string
 *            / "hasPrefix" ws "(" ws "attributes." key ws "," ws string ws ")"
 * key        = 1*( ALPHA / DIGIT / "-" / "_" ) / string ; quote any other key: attributes."iana.org/x"
 * string     = DQUOTE *( char / escape ) DQUOTE / "'" *( char / escape ) "'"
 * escape     = "\" ( "a" / "b" / "f" / "n" / "r" / "t" / "v" / "\" / "'" / DQUOTE / "`" / "?" )
 *            / "\" ( "x" / "X" ) 2HEXDIG / "\u" 4HEXDIG / "\U" 8HEXDIG / "\" %x30-33 2%x30-37
 * ws         = *( SP / HTAB / CR / LF )
 * ```
 *
 * Keywords, `attributes` and `hasPrefix` are case-sensitive (the docs require uppercase operators).
 * Beyond the docs' examples: single-quoted strings are accepted (as by AIP-160 lexers, which
 * Google's own fake server uses), a quoted key must not be empty, and a term is negated at most once
 * (`NOT NOT a` is rejected, `NOT (NOT a)` is fine).
 * `attributes.k != "v"` is the negation of `attributes.k = "v"`, so it is true when `k` is absent;
 * `=` and `hasPrefix` are false when it is absent. Parentheses nest at most {@link MAX_NESTING_DEPTH}
 * deep, so evaluation (one visit per node, short-circuiting) is linear and its recursion bounded.
 */

/** Largest filter, in UTF-8 bytes (the Pub/Sub limit). */
export const MAX_ATTRIBUTE_FILTER_BYTES = 256;

/** Deepest parenthesis nesting accepted; deeper filters are rejected rather than risking the stack. */
const MAX_NESTING_DEPTH = 64;

/** Longest piece of the source quoted back in an error message, in characters. */
const MAX_ECHO_CHARS = 24;

/** Parsed, immutable filter. */
export interface AttributeFilter {
  /** The filter as written by the client. */
  readonly source: string;
  /** True when a message with these attributes passes the filter (always, for an empty filter). */
  matches(attributes: Readonly<Record<string, string>>): boolean;
}

/** A node of the parsed expression; AND/OR chains are flattened into one n-ary node. */
type FilterNode =
  | { readonly kind: "has"; readonly key: string }
  | { readonly kind: "equals"; readonly key: string; readonly value: string }
  | { readonly kind: "has-prefix"; readonly key: string; readonly prefix: string }
  | { readonly kind: "not"; readonly operand: FilterNode }
  | { readonly kind: "and" | "or"; readonly operands: readonly FilterNode[] };

/** True when the source is empty or only whitespace, i.e. it filters nothing out. Says nothing of its validity. */
export function isEmptyAttributeFilter(source: string): boolean {
  for (let i = 0; i < source.length; i++) {
    if (!isWhitespace(source.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * Parses `source` once. An empty or whitespace-only filter matches every message. Throws
 * `DomainError.invalid(field, …)` naming the position (1-based, in characters) and the token at fault
 * when the filter is longer than {@link MAX_ATTRIBUTE_FILTER_BYTES}, holds control characters or lone
 * surrogates outside escapes, or is not a valid expression.
 */
export function parseAttributeFilter(source: string, field = "filter"): AttributeFilter {
  checkCharacters(source, field);
  if (isEmptyAttributeFilter(source)) return Object.freeze({ source, matches: () => true });
  const root = new Parser(source, field).parse();
  return Object.freeze({
    source,
    matches: (attributes: Readonly<Record<string, string>>) => evaluate(root, attributes),
  });
}

function evaluate(node: FilterNode, attributes: Readonly<Record<string, string>>): boolean {
  switch (node.kind) {
    case "has":
      return lookup(attributes, node.key) !== undefined;
    case "equals":
      return lookup(attributes, node.key) === node.value;
    case "has-prefix":
      return lookup(attributes, node.key)?.startsWith(node.prefix) ?? false;
    case "not":
      return !evaluate(node.operand, attributes);
    case "and":
      for (const operand of node.operands) if (!evaluate(operand, attributes)) return false;
      return true;
    case "or":
      for (const operand of node.operands) if (evaluate(operand, attributes)) return true;
      return false;
  }
}

/** The attribute's value; own properties only, so keys like `constructor` or `__proto__` are not inherited. */
function lookup(attributes: Readonly<Record<string, string>>, key: string): string | undefined {
  if (!Object.hasOwn(attributes, key)) return undefined;
  const value = attributes[key];
  return typeof value === "string" ? value : undefined;
}

/** Rejects over-long sources, control characters (C0 but whitespace, DEL, C1) and lone surrogates. */
function checkCharacters(source: string, field: string): void {
  const tooLong = () =>
    DomainError.invalid(field, `must be at most ${MAX_ATTRIBUTE_FILTER_BYTES} bytes (UTF-8)`);
  // Every UTF-16 unit costs at least one UTF-8 byte: a huge input is refused without scanning it.
  if (source.length > MAX_ATTRIBUTE_FILTER_BYTES) throw tooLong();
  let bytes = 0;
  let position = 0; // 1-based, in code points
  for (let i = 0; i < source.length; i++) {
    position++;
    const unit = source.charCodeAt(i);
    if ((unit <= 0x1f && !isWhitespace(unit)) || (unit >= 0x7f && unit <= 0x9f)) {
      const code = unit.toString(16).toUpperCase().padStart(4, "0");
      throw DomainError.invalid(
        field,
        `control character U+${code} at position ${position}; inside a string literal write it as an escape such as \\n or \\u${code}`,
      );
    }
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = source.charCodeAt(i + 1); // NaN past the end
      if (!(next >= 0xdc00 && next <= 0xdfff)) {
        throw DomainError.invalid(field, `invalid Unicode: lone surrogate at position ${position}`);
      }
      bytes += 4;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      throw DomainError.invalid(field, `invalid Unicode: lone surrogate at position ${position}`);
    } else {
      bytes += unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3;
    }
  }
  if (bytes > MAX_ATTRIBUTE_FILTER_BYTES) throw tooLong();
}

function isWhitespace(unit: number): boolean {
  return unit === 0x20 || unit === 0x09 || unit === 0x0a || unit === 0x0d;
}

/** Letters, digits and `_`: the characters of keywords and names. */
function isWordChar(unit: number): boolean {
  return (
    (unit >= 0x61 && unit <= 0x7a) ||
    (unit >= 0x41 && unit <= 0x5a) ||
    (unit >= 0x30 && unit <= 0x39) ||
    unit === 0x5f
  );
}

/** Characters of an unquoted attribute key: letters, digits, `_` and `-`. */
function isKeyChar(unit: number): boolean {
  return isWordChar(unit) || unit === 0x2d;
}

function isHexDigit(unit: number): boolean {
  return (unit >= 0x30 && unit <= 0x39) || (unit >= 0x61 && unit <= 0x66) || (unit >= 0x41 && unit <= 0x46);
}

function isOctalDigit(unit: number): boolean {
  return unit >= 0x30 && unit <= 0x37;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "`": "`",
  "?": "?",
};

const QUOTE_HINT =
  'quote keys containing characters other than letters, digits, "-" and "_", e.g. attributes."a.b"';

/** `text` in double quotes for an error message: `"` and control characters escaped, `\` shown as is. */
function show(text: string): string {
  return JSON.stringify(text).replaceAll("\\\\", "\\");
}

/**
 * Recursive-descent parser working directly on the source (no separate lexer: what a `-` means
 * depends on whether a key or a term is expected). Recursion depth is bounded by the nesting limit.
 */
class Parser {
  private pos = 0;
  /** Where the last unquoted key ended, to suggest quoting when the next character is unexpected. */
  private unquotedKeyEnd = -1;

  constructor(
    private readonly src: string,
    private readonly field: string,
  ) {}

  parse(): FilterNode {
    const root = this.parseExpression(0);
    this.skipWhitespace();
    if (this.pos < this.src.length) {
      if (this.src[this.pos] === ")") this.fail(this.pos, 'unmatched ")"');
      this.failExpected(this.pos, "AND, OR or the end of the filter");
    }
    return root;
  }

  private parseExpression(depth: number): FilterNode {
    const first = this.parseTerm(depth);
    const operands = [first];
    let operator: "AND" | "OR" | undefined;
    for (;;) {
      this.skipWhitespace();
      const start = this.pos;
      const word = this.peekWord();
      if (word !== "AND" && word !== "OR") break;
      if (operator !== undefined && word !== operator) {
        this.fail(start, `AND and OR cannot be mixed without parentheses; group them, e.g. a AND (b OR c)`);
      }
      operator = word;
      this.pos += word.length;
      operands.push(this.parseTerm(depth));
    }
    if (operator === undefined) return first;
    return { kind: operator === "AND" ? "and" : "or", operands };
  }

  private parseTerm(depth: number): FilterNode {
    this.skipWhitespace();
    let negated = false;
    if (this.peekWord() === "NOT") {
      this.pos += 3;
      negated = true;
    } else if (this.src[this.pos] === "-") {
      this.pos += 1;
      negated = true;
    }
    if (!negated) return this.parsePrimary(depth);
    this.skipWhitespace();
    if (this.peekWord() === "NOT" || this.src[this.pos] === "-") {
      this.fail(this.pos, "a condition can be negated only once; use parentheses, e.g. NOT (NOT a)");
    }
    return { kind: "not", operand: this.parsePrimary(depth) };
  }

  private parsePrimary(depth: number): FilterNode {
    this.skipWhitespace();
    const start = this.pos;
    if (this.src[start] === "(") {
      if (depth >= MAX_NESTING_DEPTH) {
        this.fail(start, `parentheses nest deeper than ${MAX_NESTING_DEPTH} levels`);
      }
      this.pos++;
      const inner = this.parseExpression(depth + 1);
      this.skipWhitespace();
      if (this.src[this.pos] !== ")") {
        this.failExpected(this.pos, `")" to close the "(" at position ${this.position(start)}`);
      }
      this.pos++;
      return inner;
    }
    const word = this.peekWord();
    if (word === "attributes") return this.parseAttributeCondition();
    if (word === "hasPrefix") return this.parseHasPrefix();
    const upper = word.toUpperCase();
    if (word === "" || upper === "AND" || upper === "OR" || upper === "NOT") {
      this.failExpected(
        start,
        'a condition: attributes:KEY, attributes.KEY = "value", hasPrefix(...) or "("',
      );
    }
    this.pos += word.length;
    this.skipWhitespace();
    if (this.src[this.pos] === "(") {
      this.fail(start, `unknown function ${this.echo(word)}; hasPrefix is the only supported function`);
    }
    this.fail(start, `unknown name ${this.echo(word)}; a condition starts with attributes or hasPrefix`);
  }

  /** `attributes:KEY`, `attributes.KEY = "v"` or `attributes.KEY != "v"`; `pos` is at "attributes". */
  private parseAttributeCondition(): FilterNode {
    this.pos += "attributes".length;
    if (this.src[this.pos] === ".") {
      this.pos++;
      const key = this.parseKey('"attributes."');
      this.skipWhitespace();
      let isNotEqual: boolean;
      if (this.src.startsWith("!=", this.pos)) isNotEqual = true;
      else if (this.src[this.pos] === "=") isNotEqual = false;
      else return this.failExpected(this.pos, '"=" or "!=" after the attribute key');
      const operator = isNotEqual ? "!=" : "=";
      this.pos += operator.length;
      this.skipWhitespace();
      const value = this.parseString(`a string literal after "${operator}"`);
      const equals: FilterNode = { kind: "equals", key, value };
      return isNotEqual ? { kind: "not", operand: equals } : equals;
    }
    this.skipWhitespace();
    if (this.src[this.pos] !== ":") {
      return this.failExpected(
        this.pos,
        '"." or ":" after attributes, as in attributes.KEY or attributes:KEY',
      );
    }
    this.pos++;
    this.skipWhitespace();
    return { kind: "has", key: this.parseKey('"attributes:"') };
  }

  /** `hasPrefix(attributes.KEY, "prefix")`; `pos` is at "hasPrefix". */
  private parseHasPrefix(): FilterNode {
    this.pos += "hasPrefix".length;
    this.skipWhitespace();
    if (this.src[this.pos] !== "(") this.failExpected(this.pos, '"(" after hasPrefix');
    this.pos++;
    this.skipWhitespace();
    if (!this.src.startsWith("attributes.", this.pos)) {
      this.failExpected(this.pos, "attributes.KEY as the first argument of hasPrefix");
    }
    this.pos += "attributes.".length;
    const key = this.parseKey('"attributes."');
    this.skipWhitespace();
    if (this.src[this.pos] !== ",") this.failExpected(this.pos, '"," after the first argument of hasPrefix');
    this.pos++;
    this.skipWhitespace();
    const prefix = this.parseString("a string literal as the second argument of hasPrefix");
    this.skipWhitespace();
    if (this.src[this.pos] !== ")") {
      this.failExpected(this.pos, '")" after the second argument of hasPrefix (it takes two)');
    }
    this.pos++;
    return { kind: "has-prefix", key, prefix };
  }

  /** An unquoted key (letters, digits, `-`, `_`) or a string literal; never empty. */
  private parseKey(after: string): string {
    const start = this.pos;
    const quote = this.src[start];
    if (quote === '"' || quote === "'") {
      const key = this.parseString("an attribute key");
      if (key === "") this.fail(start, "an attribute key must not be empty");
      return key;
    }
    while (this.pos < this.src.length && isKeyChar(this.src.charCodeAt(this.pos))) this.pos++;
    if (this.pos === start) this.failExpected(start, `an attribute key after ${after}`, QUOTE_HINT);
    this.unquotedKeyEnd = this.pos;
    return this.src.slice(start, this.pos);
  }

  /** A string literal in double or single quotes, with its escapes decoded. */
  private parseString(expected: string): string {
    const start = this.pos;
    const quote = this.src[start];
    if (quote !== '"' && quote !== "'") return this.failExpected(start, expected);
    this.pos++;
    let value = "";
    for (;;) {
      if (this.pos >= this.src.length) this.fail(start, "unterminated string literal");
      const ch = this.src[this.pos] as string;
      if (ch === quote) {
        this.pos++;
        return value;
      }
      if (ch === "\\") {
        value += this.parseEscape(start);
        continue;
      }
      if (ch.charCodeAt(0) <= 0x1f) {
        this.fail(this.pos, "a tab or line break inside a string literal must be escaped (\\t, \\n, \\r)");
      }
      value += ch;
      this.pos++;
    }
  }

  /** Decodes the escape at `pos` (a backslash) and moves past it. */
  private parseEscape(literalStart: number): string {
    const start = this.pos;
    const letter = this.src[start + 1];
    if (letter === undefined) return this.fail(literalStart, "unterminated string literal");
    const simple = SIMPLE_ESCAPES[letter];
    if (simple !== undefined) {
      this.pos += 2;
      return simple;
    }
    if (letter === "x" || letter === "X") return this.parseCodePointEscape(start, 2);
    if (letter === "u") return this.parseCodePointEscape(start, 4);
    if (letter === "U") return this.parseCodePointEscape(start, 8);
    if (letter >= "0" && letter <= "3") {
      if (!isOctalDigit(this.src.charCodeAt(start + 2)) || !isOctalDigit(this.src.charCodeAt(start + 3))) {
        this.fail(start, "an octal escape needs three octal digits, from \\000 to \\377");
      }
      this.pos += 4;
      return String.fromCharCode(Number.parseInt(this.src.slice(start + 1, start + 4), 8));
    }
    const shown = String.fromCodePoint(this.src.codePointAt(start + 1) as number);
    return this.fail(start, `invalid escape sequence ${show(`\\${shown}`)}`);
  }

  /** `\xHH`, `\uHHHH` or `\UHHHHHHHH` at `start`: exactly `digits` hex digits naming a Unicode scalar value. */
  private parseCodePointEscape(start: number, digits: number): string {
    const hexStart = start + 2;
    for (let i = hexStart; i < hexStart + digits; i++) {
      if (!isHexDigit(this.src.charCodeAt(i))) {
        this.fail(start, `"\\${this.src[start + 1]}" must be followed by ${digits} hexadecimal digits`);
      }
    }
    const codePoint = Number.parseInt(this.src.slice(hexStart, hexStart + digits), 16);
    if (codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
      this.fail(start, `${show(this.src.slice(start, hexStart + digits))} is not a Unicode character`);
    }
    this.pos = hexStart + digits;
    return String.fromCodePoint(codePoint);
  }

  /** The run of word characters at `pos` ("" if none), without consuming it. */
  private peekWord(): string {
    let end = this.pos;
    while (end < this.src.length && isWordChar(this.src.charCodeAt(end))) end++;
    return this.src.slice(this.pos, end);
  }

  private skipWhitespace(): void {
    while (this.pos < this.src.length && isWhitespace(this.src.charCodeAt(this.pos))) this.pos++;
  }

  /** 1-based position of the UTF-16 index `index`, counted in code points (the source is well-formed). */
  private position(index: number): number {
    let position = 1;
    for (let i = 0; i < index; i++) {
      const unit = this.src.charCodeAt(i);
      if (!(unit >= 0xdc00 && unit <= 0xdfff)) position++;
    }
    return position;
  }

  /** What stands at `index`, for an error message: a short quoted token, never more than a few characters. */
  private describe(index: number): string {
    if (index >= this.src.length) return "the end of the filter";
    const unit = this.src.charCodeAt(index);
    if (unit === 0x22 || unit === 0x27) return "a string literal";
    if (isKeyChar(unit)) {
      let end = index;
      while (end < this.src.length && isKeyChar(this.src.charCodeAt(end))) end++;
      return this.echo(this.src.slice(index, end));
    }
    return show(String.fromCodePoint(this.src.codePointAt(index) as number));
  }

  /** A piece of the source, quoted and cut to {@link MAX_ECHO_CHARS} characters. */
  private echo(text: string): string {
    return show(text.length <= MAX_ECHO_CHARS ? text : `${text.slice(0, MAX_ECHO_CHARS)}…`);
  }

  /** Fails with "expected …, found …", plus `hint` or else one for the two likeliest slips. */
  private failExpected(index: number, expected: string, hint?: string): never {
    let end = index;
    while (end < this.src.length && isWordChar(this.src.charCodeAt(end))) end++;
    const word = this.src.slice(index, end);
    const upper = word.toUpperCase();
    if (hint === undefined && (upper === "AND" || upper === "OR" || upper === "NOT") && word !== upper) {
      hint = "boolean operators must be uppercase: AND, OR, NOT";
    }
    // Right after an unquoted key, a character such as "." or "/" was most likely meant to be part of it.
    const next = this.src[index];
    if (hint === undefined && index === this.unquotedKeyEnd && next !== undefined) {
      if (!isWhitespace(next.charCodeAt(0)) && !"()=!,".includes(next)) hint = QUOTE_HINT;
    }
    const suffix = hint === undefined ? "" : ` (${hint})`;
    return this.fail(index, `expected ${expected}, found ${this.describe(index)}${suffix}`);
  }

  private fail(index: number, message: string): never {
    throw DomainError.invalid(this.field, `${message} at position ${this.position(index)}`);
  }
}
