#!/usr/bin/env node
// Builds the web console (console/src, Preact + connect-web) into console/dist/, which is committed
// like gen/ so a fresh `npm ci && npm start` serves it without a build step; .ci/run rebuilds it
// and fails when the committed files are stale. The output is deterministic (no hashes, no dates).
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}console/dist/`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${root}console/src/main.tsx`],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "eof",
  outfile: `${out}app.js`,
  logLevel: "warning",
});
copyFileSync(`${root}console/index.html`, `${out}index.html`);
copyFileSync(`${root}console/src/app.css`, `${out}app.css`);
