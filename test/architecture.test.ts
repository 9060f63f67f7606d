import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// Imports point inward: src/domain holds pure rules and may import only other files in src/domain.

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
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return domainSourceFiles(path);
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
