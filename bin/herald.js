#!/usr/bin/env node
// `herald`: serve, migrate, and the admin client commands (docs/cli.md). Runs the compiled
// JavaScript in dist/ (`npm run build`) when it is at least as new as every source file:
// transpiling the TypeScript at start (tsx) costs about a second and a half of each restart.
// Without a build, or with one older than the sources, it runs the TypeScript through tsx, so a
// fresh clone and a changed checkout never run stale code.
import { readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const compiledMain = `${root}dist/src/cli/main.js`;

/** Newest modification time (ms) of the files under `dir`, 0 when it does not exist. */
function newestMtimeMs(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const mtimeMs = statSync(`${entry.parentPath}/${entry.name}`).mtimeMs;
    if (mtimeMs > newest) newest = mtimeMs;
  }
  return newest;
}

function builtAtMs() {
  try {
    return statSync(compiledMain).mtimeMs;
  } catch {
    return undefined;
  }
}

const builtAt = builtAtMs();
const sourcesAt = Math.max(newestMtimeMs(`${root}src`), newestMtimeMs(`${root}gen`));
if (builtAt !== undefined && builtAt >= sourcesAt) {
  await import(compiledMain);
} else {
  if (builtAt !== undefined) {
    process.stderr.write(
      `${JSON.stringify({ level: "warn", time: new Date().toISOString(), msg: "dist/ is older than src/: running the TypeScript sources through tsx (run npm run build)" })}\n`,
    );
  }
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
