import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// Imports point inward: src/domain holds pure rules and may import only other files in src/domain;
// every other layer has a list of what it must never import (LAYER_RULES below).

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const domainDir = join(repoRoot, "src", "domain");

const FORBIDDEN_PACKAGES = [
  /^knex(\/|$)/,
  /^mysql2(\/|$)/,
  /^better-sqlite3(\/|$)/,
  /^node:/,
  /^@connectrpc\//,
  /^@bufbuild\//,
];

/** Every module specifier in a source file: static, re-export, side-effect, dynamic and require. */
function importSpecifiers(source: string): string[] {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:\\])\/\/.*$/gm, "$1");
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g,
    /\brequire\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g,
  ];
  const found: string[] = [];
  for (const pattern of patterns) {
    for (const match of withoutComments.matchAll(pattern)) {
      if (match[1] !== undefined) found.push(match[1]);
    }
  }
  return found;
}

/** Why `specifier`, imported by the file at `fromFile`, breaks the domain's boundary; undefined if it does not. */
function violation(specifier: string, fromFile: string, domainRoot: string): string | undefined {
  if (FORBIDDEN_PACKAGES.some((p) => p.test(specifier))) return "forbidden package";
  if (/(^|\/)gen(\/|$)/.test(specifier)) return "generated code (gen/)";
  if (!specifier.startsWith(".")) return "package import (the domain has no dependencies)";
  const target = resolve(dirname(fromFile), specifier);
  if (target !== domainRoot && !target.startsWith(domainRoot + sep)) return "import from outside src/domain";
  return undefined;
}

function domainSourceFiles(dir: string): string[] {
  return sourceFiles(dir);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("src/domain imports", () => {
  it("finds domain source files to check", () => {
    expect(domainSourceFiles(domainDir).length).toBeGreaterThan(0);
  });

  it("imports nothing but other src/domain files", () => {
    const problems = domainSourceFiles(domainDir).flatMap((file) =>
      importSpecifiers(readFileSync(file, "utf8")).flatMap((specifier) => {
        const why = violation(specifier, file, domainDir);
        return why === undefined ? [] : [`${relative(repoRoot, file)} imports "${specifier}": ${why}`];
      }),
    );
    expect(problems).toEqual([]);
  });
});

/** Something a layer may depend on: one of our layers (a folder of src/), gen/, or a package family. */
type Dependency =
  | "app"
  | "composition"
  | "config"
  | "domain"
  | "engine"
  | "observability"
  | "storage"
  | "transport"
  | "gen"
  | "node"
  | "knex"
  | "connect";

interface LayerRule {
  /** The folder under src/. */
  layer: string;
  never: readonly Dependency[];
  why: string;
}

/** Driver packages count as knex: only storage talks to a database. */
const PACKAGE_FAMILIES: ReadonlyArray<[RegExp, Dependency]> = [
  [/^node:/, "node"],
  [/^(knex|mysql2|better-sqlite3)(\/|$)/, "knex"],
  [/^@(connectrpc|bufbuild)\//, "connect"],
];

const LAYER_RULES: readonly LayerRule[] = [
  {
    layer: "app",
    never: ["storage", "engine", "transport", "composition", "observability", "knex", "connect", "gen"],
    why: "use cases depend on the domain and their own ports, not on what implements or calls them",
  },
  {
    layer: "storage",
    never: ["engine", "transport", "composition", "observability", "connect", "gen"],
    why: "storage implements app's ports with SQL and knows nothing of who calls it",
  },
  {
    layer: "engine",
    never: ["storage", "transport", "composition", "observability", "knex", "connect", "gen"],
    why: "background loops drive use cases; they report through ports and throw domain errors",
  },
  {
    layer: "transport",
    never: ["storage", "composition", "observability", "knex"],
    why: "handlers call use cases and the engine; the store is reached only through app's ports",
  },
  {
    layer: "observability",
    never: ["storage", "engine", "transport", "composition", "knex", "connect", "gen"],
    why: "metrics read counts through app's ports",
  },
  {
    layer: "config",
    never: [
      "app",
      "storage",
      "engine",
      "transport",
      "composition",
      "observability",
      "knex",
      "connect",
      "gen",
    ],
    why: "the configuration is read first and depends on nothing of ours but the domain",
  },
];

const srcDir = join(repoRoot, "src");
const genDir = join(repoRoot, "gen");

/** What `specifier` (imported by `fromFile`) depends on, in LAYER_RULES' terms; undefined for other packages and files. */
function dependencyOf(specifier: string, fromFile: string): Dependency | undefined {
  for (const [pattern, family] of PACKAGE_FAMILIES) if (pattern.test(specifier)) return family;
  if (!specifier.startsWith(".")) return undefined;
  const target = resolve(dirname(fromFile), specifier);
  if (target.startsWith(genDir + sep)) return "gen";
  if (!target.startsWith(srcDir + sep)) return undefined;
  const [top, ...rest] = relative(srcDir, target).split(sep);
  // Files directly in src/ (logger.ts, version.ts, herald-server.ts) are shared or the root itself.
  if (rest.length === 0) return top === "herald-server.js" ? "composition" : undefined;
  return top as Dependency;
}

describe.each(LAYER_RULES)("src/$layer imports", (rule) => {
  const dir = join(srcDir, rule.layer);

  it("has source files to check", () => {
    expect(sourceFiles(dir).length).toBeGreaterThan(0);
  });

  it(`never imports ${rule.never.join(", ")}`, () => {
    const problems = sourceFiles(dir).flatMap((file) =>
      importSpecifiers(readFileSync(file, "utf8")).flatMap((specifier) => {
        const dependency = dependencyOf(specifier, file);
        return dependency !== undefined && rule.never.includes(dependency)
          ? [`${relative(repoRoot, file)} imports "${specifier}" (${dependency}): ${rule.why}`]
          : [];
      }),
    );
    expect(problems).toEqual([]);
  });
});

describe("dependencyOf", () => {
  const file = join(srcDir, "engine", "example.ts");
  it.each([
    ["../transport/health-service.js", "transport"],
    ["../storage/open-store.js", "storage"],
    ["../app/store.js", "app"],
    ["./wakeups.js", "engine"],
    ["../../gen/herald/v1/errors_pb.js", "gen"],
    ["../herald-server.js", "composition"],
    ["@connectrpc/connect", "connect"],
    ["@bufbuild/protobuf", "connect"],
    ["mysql2/promise", "knex"],
    ["node:fs", "node"],
  ])("classifies %j as %s", (specifier, dependency) => {
    expect(dependencyOf(specifier, file)).toBe(dependency);
  });

  it.each(["../logger.js", "undici", "prom-client"])("leaves %j to no rule", (specifier) => {
    expect(dependencyOf(specifier, file)).toBeUndefined();
  });
});

describe("the import scanner", () => {
  const file = join(domainDir, "example.ts");

  it("finds static, type-only, re-export, side-effect, dynamic and require imports", () => {
    const source = [
      'import knex from "knex";',
      'import type { Knex } from "knex";',
      "import {\n  a,\n  b,\n} from './multi-line.js';",
      'export { x } from "./x.js";',
      'export * from "@bufbuild/protobuf";',
      'import "node:fs";',
      'const m = await import("mysql2");',
      'const s = require("better-sqlite3");',
    ].join("\n");
    expect(importSpecifiers(source)).toEqual(
      expect.arrayContaining([
        "knex",
        "./multi-line.js",
        "./x.js",
        "@bufbuild/protobuf",
        "node:fs",
        "mysql2",
        "better-sqlite3",
      ]),
    );
  });

  it("ignores imports that only appear in comments", () => {
    expect(importSpecifiers('// import knex from "knex";\n/* import "node:fs"; */')).toEqual([]);
  });

  it.each([
    "knex",
    "knex/types",
    "mysql2/promise",
    "better-sqlite3",
    "node:fs",
    "@connectrpc/connect",
    "@bufbuild/protobuf",
    "../../gen/herald/v1/herald_pb.js",
    "../storage/queue-repository.js",
    "../app/publish.js",
    "left-pad",
  ])("flags %j", (specifier) => {
    expect(violation(specifier, file, domainDir)).toBeDefined();
  });

  it.each(["./clock.js", "./sub/thing.js", "../domain/clock.js"])("allows %j", (specifier) => {
    expect(violation(specifier, file, domainDir)).toBeUndefined();
  });
});
