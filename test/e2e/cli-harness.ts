/**
 * Runs the real `herald` binary (node bin/herald.js …) as a child process against a test server,
 * as an admin would from a shell: arguments, environment, stdin; collects exit code and output.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";

const ROOT = join(import.meta.dirname, "../..");

/** The admin token the CLI test servers accept (HERALD_ADMIN_TOKENS). */
export const ADMIN_TOKEN = "cli-admin-token-0123456789";

/** Each command is a process start (node + tsx, 1–3 s on a busy machine): tests group many. */
export const CLI_TEST_TIMEOUT_MS = 120_000;

/** An AdminService client with `token`, for setting up what a test's commands then work on. */
export function adminClientFor(baseUrl: string, token: string) {
  return createClient(
    AdminService,
    createGrpcTransport({
      baseUrl,
      interceptors: [
        (next) => (request) => {
          request.header.set("authorization", `Bearer ${token}`);
          return next(request);
        },
      ],
    }),
  );
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed; stdin is empty otherwise. */
  input?: string;
  /** Extra environment (HERALD_SERVER and HERALD_TOKEN come from the runner). */
  env?: Record<string, string>;
}

/** Starts `herald args…` with stdout and stderr collected as they arrive. */
export function spawnHerald(args: readonly string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, ["bin/herald.js", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  child.stdout?.on("data", (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, output, exited };
}

/** A runner bound to one server (and, by default, one token). */
export function cliRunner(server: string, token?: string) {
  const baseEnv: Record<string, string> = {
    HERALD_SERVER: server,
    ...(token ? { HERALD_TOKEN: token } : {}),
  };
  const run = async (args: readonly string[], options: CliOptions = {}): Promise<CliResult> => {
    const { child, output, exited } = spawnHerald(args, { ...baseEnv, ...options.env });
    child.stdin?.end(options.input ?? "");
    const code = await exited;
    return { code, ...output };
  };
  /** Runs with --json and parses stdout as one JSON document; fails with stderr when the exit is non-zero. */
  const json = async <T = Record<string, unknown>>(args: readonly string[], options: CliOptions = {}) => {
    const result = await run([...args, "--json"], options);
    if (result.code !== 0)
      throw new Error(`herald ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  /** Runs with --json and parses stdout as JSON lines. */
  const jsonLines = async <T = Record<string, unknown>>(
    args: readonly string[],
    options: CliOptions = {},
  ) => {
    const result = await run([...args, "--json"], options);
    if (result.code !== 0)
      throw new Error(`herald ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
    return result.stdout
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as T);
  };
  return { run, json, jsonLines, env: baseEnv };
}

export type CliRunner = ReturnType<typeof cliRunner>;

/** A pulled or tailed message as `--json` prints it (protobuf JSON: data is base64). */
export interface ReceivedJson {
  ackId: string;
  deliveryAttempt: number;
  message: { messageId: string; data: string; attributes: Record<string, string>; identifier: string };
}

export const decode = (base64: string) => Buffer.from(base64, "base64").toString("utf8");
