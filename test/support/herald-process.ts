/**
 * The real `herald` process for end-to-end tests: `node --import tsx src/cli/main.ts <args>`, its
 * JSON log lines on stderr, and a stop by signal. Every process spawned here is tracked, so a suite
 * kills leftovers with `killHeraldProcesses()` in afterEach/afterAll, and the test worker kills any
 * that remain when it exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";

const ROOT = join(import.meta.dirname, "../..");

export interface ProcessExit {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HeraldProcess {
  /** Base URL of the listening port, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** The parsed "herald listening" log line (address, store, ...). */
  readonly listening: Readonly<Record<string, unknown>>;
  readonly child: ChildProcess;
  /** Settles (never rejects) when the process has exited. */
  readonly exited: Promise<ProcessExit>;
  /** Every stdout and stderr line so far, for assertions and failure messages. */
  readonly outputLines: readonly string[];
  /**
   * Sends `signal` (default SIGTERM) and resolves with how the process ended. A process still
   * running after `timeoutMs` (default 15 000) is SIGKILLed and the call rejects.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ProcessExit>;
}

export interface StartHeraldOptions {
  /** How long to wait for the "herald listening" line, ms. Default 20 000. */
  startTimeoutMs?: number;
}

const running = new Set<ChildProcess>();

// A worker that dies (or a test that forgets its cleanup) must not leave servers behind.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exitOf(child: ChildProcess): Promise<ProcessExit> {
  if (!isRunning(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Spawns `herald <args>` from the repository root with only PATH and `env` in its environment
 * (HERALD_LOG_LEVEL defaults to info), stdin closed and stdout/stderr piped. The process is tracked
 * for `killHeraldProcesses()`.
 */
export function spawnHerald(args: readonly string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HERALD_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

/** Parses a JSON log line; undefined for anything else (e.g. a plain-text start failure). */
function parseLogLine(line: string): Record<string, unknown> | undefined {
  try {
    const entry: unknown = JSON.parse(line);
    return typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts `herald serve` with `env` (HERALD_ADDR and DATABASE_URL included) and resolves once it
 * logs "herald listening". Rejects, with the process output, when it exits or times out first.
 */
export async function startHeraldProcess(
  env: Record<string, string>,
  options: StartHeraldOptions = {},
): Promise<HeraldProcess> {
  const child = spawnHerald(["serve"], env);
  const exited = exitOf(child);
  const outputLines: string[] = [];
  let onLine: ((line: string) => void) | undefined;
  // Read both pipes to the end, always: a full pipe would block the server's logger.
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      outputLines.push(line);
      onLine?.(line);
    });
  }
  const output = () => outputLines.join("\n");
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;

  let timer: NodeJS.Timeout | undefined;
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    onLine = (line) => {
      const entry = parseLogLine(line);
      if (entry?.msg === "herald listening" && typeof entry.address === "string") resolve(entry);
    };
    void exited.then(({ code, signal }) =>
      reject(new Error(`herald exited (code ${code}, signal ${signal}) before listening:\n${output()}`)),
    );
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`herald did not log "herald listening" within ${startTimeoutMs} ms:\n${output()}`));
    }, startTimeoutMs);
  }).finally(() => {
    clearTimeout(timer);
    onLine = undefined;
  });

  return {
    url: `http://${listening.address as string}`,
    listening,
    child,
    exited,
    outputLines,
    async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000) {
      if (!isRunning(child)) return exited;
      child.kill(signal);
      let timeout: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timeout = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const result = await Promise.race([exited, timedOut]).finally(() => clearTimeout(timeout));
      if (result !== "timeout") return result;
      child.kill("SIGKILL");
      await exited;
      throw new Error(`herald did not exit within ${timeoutMs} ms of ${signal}:\n${output()}`);
    },
  };
}

/** SIGKILLs every herald process spawned here that is still running, and waits for each to exit. */
export async function killHeraldProcesses(): Promise<void> {
  const leftovers = [...running].filter(isRunning);
  for (const child of leftovers) child.kill("SIGKILL");
  await Promise.all(leftovers.map(exitOf));
}

/** Connect clients speaking gRPC to a server at `baseUrl`. */
export function heraldClients(baseUrl: string) {
  const transport = createGrpcTransport({ baseUrl });
  return {
    admin: createClient(AdminService, transport),
    publisher: createClient(PublisherService, transport),
    subscriber: createClient(SubscriberService, transport),
  };
}

export type HeraldClients = ReturnType<typeof heraldClients>;
