/** The bench's command line: mode, which workloads and targets, overrides, profiling. */
import { parseArgs } from "node:util";
import type { SettingsOverrides } from "./bench-settings.js";
import type { ServerRuntime } from "./herald-child.js";
import { DEFAULT_NATS_URL } from "./peers/jetstream-peer.js";
import { DEFAULT_AMQP_URL } from "./peers/rabbitmq-peer.js";

export const TARGETS = ["herald-mysql", "herald-pubsub", "herald-sqlite", "rabbitmq", "jetstream"] as const;

/** A bad command line: printed as one line, without a stack. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface CliOptions {
  isQuick: boolean;
  /** Workload ids to run, plus "ceiling" for the database ceiling. */
  workloadIds: Set<string>;
  targets: Set<string>;
  isCpuProfiling: boolean;
  /** How the Herald children run: the compiled build (default; built at start) or tsx. */
  serverRuntime: ServerRuntime;
  overrides: SettingsOverrides;
}

function usage(workloadIds: readonly string[]): string {
  return `usage: npm run bench -- [--quick] [--only=${workloadIds.join(",")}]
                       [--targets=${TARGETS.join(",")}] [--rate=<msg/s>] [--runs=<n>] [--cpu-prof]
                       [--server=dist|tsx]   (dist: compile first, children run the compiled build)
env: BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306/herald_bench; a fresh <name>_<random> database
     per Herald child, dropped afterwards), BENCH_AMQP_URL (default ${DEFAULT_AMQP_URL}),
     BENCH_NATS_URL (default ${DEFAULT_NATS_URL}); HERALD_* variables pass through to the Herald child`;
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      targets: { type: "string" },
      "cpu-prof": { type: "boolean", default: false },
      server: { type: "string", default: "dist" },
      rate: { type: "string" },
      runs: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
}

function serverRuntime(raw: string | undefined): ServerRuntime {
  if (raw === "dist" || raw === "tsx") return raw;
  throw new UsageError("--server must be dist or tsx");
}

/** Parses argv; prints usage and exits on --help; throws UsageError on a bad option. */
export function parseCli(argv: string[], workloadIds: readonly string[]): CliOptions {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values } = parsed;
  if (values.help) {
    console.log(usage(workloadIds));
    process.exit(0);
  }
  const list = (raw: string | undefined, all: readonly string[], flag: string) => {
    const chosen = raw === undefined ? [...all] : raw.split(",").map((s) => s.trim());
    const unknown = chosen.filter((c) => !all.includes(c));
    if (unknown.length > 0) {
      throw new UsageError(`--${flag}: unknown ${unknown.join(", ")} (choose from ${all.join(", ")})`);
    }
    return new Set(chosen);
  };
  const integer = (raw: string | undefined, flag: string, max: number) => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new UsageError(`--${flag} must be an integer from 1 to ${max}`);
    }
    return n;
  };
  const rate = integer(values.rate, "rate", 100_000);
  const runs = integer(values.runs, "runs", 20);
  return {
    overrides: {
      ...(rate === undefined ? {} : { ratePerSecond: rate }),
      ...(runs === undefined ? {} : { runs }),
    },
    isQuick: values.quick,
    workloadIds: list(values.only, workloadIds, "only"),
    targets: list(values.targets, TARGETS, "targets"),
    isCpuProfiling: values["cpu-prof"],
    serverRuntime: serverRuntime(values.server),
  };
}
