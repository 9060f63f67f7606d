import { existsSync, readdirSync, readFileSync } from "node:fs";
import type http from "node:http";
import type http2 from "node:http2";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

/**
 * Everything the console loads comes from this origin (no CDN, works offline) and nothing inline
 * runs: the one script and stylesheet are files, calls go to the same origin (connect-src), and
 * the page cannot be framed or post forms anywhere.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** The built console (console/dist/), read once at start: a few hundred KiB held in memory. */
export interface ConsoleAssets {
  files: ReadonlyMap<string, { body: Buffer; contentType: string }>;
}

/**
 * Reads console/dist/ next to src/ (running from source) or next to dist/src/ (a production
 * build). Throws when it is missing: the console is committed built, so that is a broken checkout.
 */
export function loadConsoleAssets(): ConsoleAssets {
  const candidates = ["../../console/dist/", "../../../console/dist/"].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  const dir = candidates.find((d) => existsSync(`${d}index.html`));
  if (dir === undefined) {
    throw new Error(
      "the web console's files (console/dist/) are missing: run `npm run build:console`, or set HERALD_CONSOLE_ENABLED=false",
    );
  }
  const files = new Map<string, { body: Buffer; contentType: string }>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType !== undefined) files.set(name, { body: readFileSync(`${dir}${name}`), contentType });
  }
  return { files };
}

/**
 * Serves GET/HEAD /console/ (index.html) and its files, and sends a browser opening / there;
 * every other request goes to `next` (the RPC handler). Requests with a gRPC or Connect content
 * type never reach these paths: RPC paths always start with "/<package>.<Service>/".
 */
export function withConsole(assets: ConsoleAssets, next: Handler): Handler {
  return (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0] ?? "";
    if (path === "/" && (req.method === "GET" || req.method === "HEAD")) {
      return redirect(res, "/console/");
    }
    if (path !== "/console" && !path.startsWith("/console/")) return next(req, res);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return send(req, res, 405, "text/plain; charset=utf-8", Buffer.from("method not allowed\n"), {
        allow: "GET, HEAD",
      });
    }
    if (path === "/console") return redirect(res, "/console/");
    const name = path === "/console/" ? "index.html" : path.slice("/console/".length);
    const file = assets.files.get(name);
    if (file === undefined)
      return send(req, res, 404, "text/plain; charset=utf-8", Buffer.from("not found\n"));
    send(req, res, 200, file.contentType, file.body);
  };
}

function redirect(res: NodeResponse, location: string): void {
  res.writeHead(302, { location, "content-length": "0" });
  res.end();
}

function send(
  req: NodeRequest,
  res: NodeResponse,
  status: number,
  contentType: string,
  body: Buffer,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": String(body.length),
    "content-security-policy": CONSOLE_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    // Revalidated on every load: a new Herald version brings new files under the same names.
    "cache-control": "no-cache",
    ...extra,
  });
  if (req.method === "HEAD") res.end();
  else res.end(body);
}
