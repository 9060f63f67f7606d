import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isMatchAll, matchesIdentifier, SQL_LIKE_ESCAPE, toSqlLikePattern } from "./identifier-filter.js";

/**
 * Property tests of the identifier glob against two independent references: a regular expression
 * built from the glob (every character but `*` escaped) and a small SQL LIKE interpreter that runs
 * the pattern storage would send to MySQL.
 */

const REGEX_METACHARACTERS = /[.*+?^${}()|[\]\\/-]/g;

/**
 * Reference matcher: the glob as an anchored regular expression. Each run of `*` becomes ONE
 * `[\s\S]*` (runs of adjacent quantifiers are what make a backtracking regex explode) and every other
 * character is escaped, so `%`, `_`, `?`, `[`, `\` and regex syntax stay literal. No `u` flag: like
 * matchesIdentifier it works on UTF-16 code units.
 */
function referenceRegex(filter: string): RegExp {
  const body = filter
    .split(/\*+/)
    .map((literal) => literal.replace(REGEX_METACHARACTERS, "\\$&"))
    .join("[\\s\\S]*");
  return new RegExp(`^${body}$`);
}

function referenceMatches(filter: string, identifier: string): boolean {
  // The contract's one special case: an empty filter matches everything (as a glob it would match only "").
  return filter === "" || referenceRegex(filter).test(identifier);
}

type LikeToken = { kind: "any-run" } | { kind: "any-one" } | { kind: "literal"; value: string };

/** Parses a LIKE pattern with `escapeChar` as escape character; a dangling escape is a syntax error. */
function parseLike(pattern: string, escapeChar: string): LikeToken[] {
  const chars = Array.from(pattern);
  const tokens: LikeToken[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === escapeChar) {
      const next = chars[++i];
      if (next === undefined)
        throw new SyntaxError(`dangling escape at the end of ${JSON.stringify(pattern)}`);
      tokens.push({ kind: "literal", value: next });
    } else if (c === "%") tokens.push({ kind: "any-run" });
    else if (c === "_") tokens.push({ kind: "any-one" });
    else tokens.push({ kind: "literal", value: c });
  }
  return tokens;
}

/**
 * A minimal SQL `value LIKE pattern ESCAPE escape` with a binary (case-sensitive) collation:
 * `%` any run, `_` one character (code point), `escapeChar` makes the next character literal. Dynamic
 * programming over (token, position), so it is polynomial for any pattern.
 */
function sqlLike(value: string, pattern: string, escapeChar: string): boolean {
  const tokens = parseLike(pattern, escapeChar);
  const chars = Array.from(value);
  // reachable[j]: the tokens so far can consume exactly chars[0..j).
  let reachable = chars.map(() => false).concat(false);
  reachable[0] = true;
  for (const token of tokens) {
    const next = reachable.map(() => false);
    for (let j = 0; j <= chars.length; j++) {
      if (token.kind === "any-run") {
        next[j] = reachable[j] === true || (j > 0 && next[j - 1] === true);
      } else if (j > 0 && reachable[j - 1] === true) {
        next[j] = token.kind === "any-one" || chars[j - 1] === token.value;
      }
    }
    reachable = next;
  }
  return reachable[chars.length] === true;
}

/** Characters that are special somewhere: glob, LIKE, GLOB, regex, SQL quoting, plus non-ASCII. */
const TRICKY = [
  "a",
  "b",
  "*",
  "%",
  "_",
  "\\",
  "?",
  "[",
  "]",
  ".",
  "^",
  "$",
  "(",
  "|",
  "'",
  '"',
  "é",
  "😀",
  " ",
];
const trickyChar = fc.constantFrom(...TRICKY);
const trickyString = (maxLength: number) =>
  fc.array(trickyChar, { maxLength }).map((chars) => chars.join(""));
/** Well-formed strings over the whole Unicode range (no lone surrogates: validation rejects those). */
const unicodeString = fc.string({ unit: "grapheme", maxLength: 12 });
const filterArb = fc.oneof(trickyString(10), unicodeString);
const identifierArb = fc.oneof(trickyString(14), unicodeString);

/** An identifier the filter must match: each `*` replaced by an arbitrary (possibly empty) string. */
const filterWithMatchingIdentifier = fc
  .tuple(trickyString(10), fc.array(trickyString(4), { minLength: 12, maxLength: 12 }))
  .map(([filter, fillers]) => {
    let i = 0;
    const identifier = filter.replace(/\*/g, () => fillers[i++ % fillers.length] ?? "");
    return { filter, identifier };
  });

const RUNS = { numRuns: 2_000 };

describe("matchesIdentifier (properties)", () => {
  it("agrees with a regular expression built safely from the glob", () => {
    fc.assert(
      fc.property(filterArb, identifierArb, (filter, identifier) => {
        expect(matchesIdentifier(filter, identifier)).toBe(referenceMatches(filter, identifier));
      }),
      RUNS,
    );
  });

  it("matches every identifier obtained by filling the stars of the filter", () => {
    fc.assert(
      fc.property(filterWithMatchingIdentifier, ({ filter, identifier }) => {
        expect(matchesIdentifier(filter, identifier)).toBe(true);
        expect(referenceMatches(filter, identifier)).toBe(true);
      }),
      RUNS,
    );
  });

  it("matches a filter without stars only against exactly the same string", () => {
    fc.assert(
      fc.property(
        filterArb.filter((f) => !f.includes("*") && f !== ""),
        identifierArb,
        (filter, identifier) => {
          expect(matchesIdentifier(filter, identifier)).toBe(filter === identifier);
          expect(matchesIdentifier(filter, filter)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it("is case-sensitive for letters", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,8}$/), (word) => {
        expect(matchesIdentifier(word, word.toUpperCase())).toBe(false);
      }),
    );
  });
});

describe("isMatchAll (properties)", () => {
  it("holds exactly for the empty filter and filters made only of stars", () => {
    fc.assert(
      fc.property(filterArb, (filter) => {
        expect(isMatchAll(filter)).toBe(/^\**$/.test(filter));
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.nat({ max: 50 }), (stars) => {
        expect(isMatchAll("*".repeat(stars))).toBe(true);
      }),
    );
  });

  it("makes a match-all filter match every identifier", () => {
    fc.assert(
      fc.property(fc.nat({ max: 20 }), identifierArb, (stars, identifier) => {
        expect(matchesIdentifier("*".repeat(stars), identifier)).toBe(true);
      }),
      RUNS,
    );
  });
});

describe("toSqlLikePattern (properties)", () => {
  it("selects with LIKE … ESCAPE exactly the identifiers the glob matches", () => {
    fc.assert(
      fc.property(filterArb, identifierArb, (filter, identifier) => {
        const pattern = toSqlLikePattern(filter);
        expect(sqlLike(identifier, pattern, SQL_LIKE_ESCAPE)).toBe(matchesIdentifier(filter, identifier));
      }),
      RUNS,
    );
    fc.assert(
      fc.property(filterWithMatchingIdentifier, ({ filter, identifier }) => {
        expect(sqlLike(identifier, toSqlLikePattern(filter), SQL_LIKE_ESCAPE)).toBe(true);
      }),
      RUNS,
    );
  });

  it("round-trips: unescaping the pattern gives back the filter with star runs collapsed", () => {
    fc.assert(
      fc.property(filterArb, (filter) => {
        const pattern = toSqlLikePattern(filter);
        const tokens = parseLike(pattern, SQL_LIKE_ESCAPE); // throws on a dangling escape
        expect(tokens.some((t) => t.kind === "any-one")).toBe(false);
        const back = tokens.map((t) => (t.kind === "literal" ? t.value : "*")).join("");
        expect(back).toBe(isMatchAll(filter) ? "*" : filter.replace(/\*+/g, "*"));
      }),
      RUNS,
    );
  });

  it("escapes every LIKE metacharacter and the escape character itself", () => {
    fc.assert(
      fc.property(filterArb, (filter) => {
        const pattern = toSqlLikePattern(filter);
        // Outside escapes only `%` may be special, and `%` never repeats (a run of stars is one `%`).
        const unescaped = pattern.replace(/\\[\\%_]/g, "L");
        expect(unescaped).not.toMatch(/[_\\]/);
        expect(unescaped).not.toMatch(/%%/);
      }),
      RUNS,
    );
  });

  it("maps every match-all filter to a single %", () => {
    fc.assert(
      fc.property(fc.nat({ max: 30 }), (stars) => {
        expect(toSqlLikePattern("*".repeat(stars))).toBe("%");
      }),
    );
  });
});

describe("adversarial filters (timing)", () => {
  /** Runs `work` and returns how long it took, ms. */
  function timed(work: () => void): number {
    const started = performance.now();
    work();
    return performance.now() - started;
  }

  it.each([
    ["many stars between repeated letters", `${"a*".repeat(50)}b`, "a".repeat(10_000)],
    ["a thousand stars then a missing letter", `${"*".repeat(1_000)}b`, "a".repeat(5_000)],
    ["alternating stars and literals", "*a*b*a*b*a*b*a*b*a*b*a*b*c", "ab".repeat(5_000)],
    ["a maximal 1024-byte filter", `${"*a".repeat(511)}*b`, "a".repeat(8_000)],
  ])("answers %s quickly, and agrees with the LIKE reference", (_name, filter, identifier) => {
    let matched: boolean | undefined;
    const elapsedMs = timed(() => {
      matched = matchesIdentifier(filter, identifier);
    });
    expect(matched).toBe(false);
    expect(elapsedMs).toBeLessThan(500);
    // The stored pattern is just as harmless for a polynomial LIKE engine.
    expect(sqlLike(identifier.slice(0, 300), toSqlLikePattern(filter), SQL_LIKE_ESCAPE)).toBe(false);
  });

  it("stays fast for random star-heavy filters against long identifiers", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("*", "a", "b"), { minLength: 20, maxLength: 200 }).map((c) => c.join("")),
        fc.array(fc.constantFrom("a", "b"), { minLength: 500, maxLength: 2_000 }).map((c) => c.join("")),
        (filter, identifier) => {
          const elapsedMs = timed(() => matchesIdentifier(filter, identifier));
          expect(elapsedMs).toBeLessThan(200);
        },
      ),
      { numRuns: 200 },
    );
  });
});
