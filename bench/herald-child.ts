/**
 * Runs Herald as a child process, as an operator deploys it — the compiled build
 * (`node .bench-server/src/cli/main.js serve`: what `npm run build && npm start` runs from dist/)
 * — or, with
 * `--server=tsx`, the TypeScript sources through tsx (`npm start` without a build). Its CPU and
 * memory are read from /proc apart from the benchmark's own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the child runs from here so `tsx` and `src/` resolve. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Where the bench compiles Herald (tsconfig.build.json with this outDir). Not dist/: a dist/ left
 * behind by the bench and older than the sources makes bin/herald.js warn on every CLI run.
 * Same depth below the repository as dist/, so the build finds package.json and console/dist/.
 */
export const COMPILED_SERVER_DIR = ".bench-server";

/** How the child runs Herald: the compiled build (COMPILED_SERVER_DIR), or the sources through tsx. */
export type ServerRuntime = "dist" | "tsx";

export interface HeraldChildOptions {
  /** DATABASE_URL for the child. */
  databaseUrl: string;
  /**
   * When set, the child runs with --cpu-prof; after stop() its main thread's profile is at
   * `<dir>/<name>.cpuprofile` (the tsx loader thread's profile is discarded).
   */
  cpuProfile?: { dir: string; name: string };
  /** Extra environment for the child (e.g. the webhook allow-lists the push workload needs). */
  env?: Record<string, string>;
  /** How long to wait for the "herald listening" line, ms. */
  startTimeoutMs?: number;
  /** Default "tsx". */
  runtime?: ServerRuntime;
}

export interface HeraldChild {
  /** e.g. http://127.0.0.1:40123 */
  readonly baseUrl: string;
  readonly pid: number;
  /** Log lines at level "error" seen so far (internal errors inside Herald during the run). */
  readonly errorLines: readonly string[];
  /** SIGTERM, then SIGKILL if the child has not exited after `graceMs`. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

const STDERR_TAIL_LINES = 40;
const ERROR_LINES_KEPT = 20;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

function keepMainThreadProfile(
  scratch: string,
  pid: number | undefined,
  target: { dir: string; name: string },
) {
  const main = readdirSync(scratch).find((f) => f.endsWith(".cpuprofile") && f.includes(`.${pid}.0.`));
  if (main) {
    mkdirSync(target.dir, { recursive: true });
    copyFileSync(join(scratch, main), join(target.dir, `${target.name}.cpuprofile`));
  }
  rmSync(scratch, { recursive: true, force: true });
}

/** Starts the child and resolves once it logs "herald listening" with its address. */
export async function startHeraldChild(options: HeraldChildOptions): Promise<HeraldChild> {
  const isCompiled = options.runtime === "dist";
  const nodeArgs = isCompiled ? [] : ["--import", "tsx"];
  // Node 20 has no per-thread name pattern for --cpu-prof-name, so profiles go to a scratch
  // directory with their default names (…<pid>.<thread id>…) and the main thread's is kept.
  const profileScratch = options.cpuProfile ? mkdtempSync(join(tmpdir(), "herald-cpu-prof-")) : undefined;
  if (profileScratch) nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${profileScratch}`);
  const child = spawn(
    process.execPath,
    [...nodeArgs, isCompiled ? `${COMPILED_SERVER_DIR}/src/cli/main.js` : "src/cli/main.ts", "serve"],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...options.env,
        HERALD_ADDR: "127.0.0.1:0",
        HERALD_LOG_LEVEL: "info",
        DATABASE_URL: options.databaseUrl,
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  const tail: string[] = [];
  const errorLines: string[] = [];
  let pending = "";
  let onListening: ((address: string) => void) | undefined;
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      tail.push(line);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
      let entry: { msg?: unknown; level?: unknown; address?: unknown } | undefined;
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      if (entry?.level === "error" && errorLines.length < ERROR_LINES_KEPT) errorLines.push(line);
      if (entry?.msg === "herald listening" && typeof entry.address === "string")
        onListening?.(entry.address);
    }
  });

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const address = await new Promise<string>((resolve, reject) => {
      onListening = resolve;
      child.once("error", reject);
      child.once("exit", (code, signal) =>
        reject(new Error(`herald exited before listening (code ${code}, signal ${signal})`)),
      );
      timer = setTimeout(() => reject(new Error(`herald did not listen within ${timeoutMs} ms`)), timeoutMs);
    });
    child.removeAllListeners("exit");
    child.removeAllListeners("error");
    child.on("error", () => {
      // A failed kill of an already-exited child; exit is awaited separately.
    });
    let stopping: Promise<void> | undefined;
    return {
      baseUrl: `http://${address}`,
      pid: child.pid as number,
      errorLines,
      stop(graceMs = 20_000) {
        stopping ??= (async () => {
          child.kill("SIGTERM");
          const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          await exited(child);
          clearTimeout(killer);
          if (profileScratch && options.cpuProfile)
            keepMainThreadProfile(profileScratch, child.pid, options.cpuProfile);
        })();
        return stopping;
      },
    };
  } catch (err) {
    child.kill("SIGKILL");
    await exited(child);
    if (profileScratch) rmSync(profileScratch, { recursive: true, force: true });
    const detail = tail.join("\n");
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- herald stderr ---\n${detail}`);
  } finally {
    clearTimeout(timer);
  }
}
