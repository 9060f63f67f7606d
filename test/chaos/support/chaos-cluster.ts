/**
 * Several real `herald serve` processes on one database for the fault-injection suite: start,
 * SIGKILL and restart one, pick a live one for the next call, and probe each one's memory, open
 * handles and file descriptors (through the preloaded memory-probe.mjs and /proc).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createHeraldClients, type HeraldTestClients } from "../../support/herald-clients.js";
import { type HeraldProcess, type ProcessExit, startHeraldProcess } from "../../support/herald-process.js";

const PROBE = join(import.meta.dirname, "memory-probe.mjs");

/** Environment every chaos instance gets; scenarios add or override entries. */
export const CHAOS_SERVER_ENV: Readonly<Record<string, string>> = Object.freeze({
  HERALD_ADDR: "127.0.0.1:0",
  // "herald listening" (what the process helper waits for) is an info line.
  HERALD_LOG_LEVEL: "info",
  HERALD_SWEEP_INTERVAL_MS: "200",
  HERALD_POLL_MIN_MS: "5",
  HERALD_POLL_MAX_MS: "50",
  HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
  HERALD_WEBHOOK_ALLOW_HTTP: "true",
  HERALD_PUSH_TIMEOUT_MS: "2000",
  HERALD_SHUTDOWN_GRACE_SECONDS: "5",
  HERALD_METRICS_ADDR: "127.0.0.1:0",
  NODE_OPTIONS: `--expose-gc --import=${PROBE}`,
});

export interface ChaosNode {
  /** Slot in the cluster (0-based); a restarted instance keeps its slot. */
  readonly slot: number;
  /** How many times this slot was started. */
  readonly generation: number;
  readonly proc: HeraldProcess;
  readonly clients: HeraldTestClients;
  readonly url: string;
  readonly metricsUrl: string | undefined;
  readonly pid: number;
}

export interface ProcessSample {
  slot: number;
  pid: number;
  atMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  activeHandles: number;
  resourceCounts: Record<string, number>;
  openFds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function parse(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class ChaosCluster {
  private readonly slots: (ChaosNode | undefined)[];
  private readonly generations: number[];
  /** How each process that went away ended: SIGKILLs, graceful stops. */
  readonly exits: { slot: number; generation: number; exit: ProcessExit; how: string }[] = [];
  /** Every herald log line at warn or above, from every process (for the report's "server warnings"). */
  readonly warnings = new Map<string, number>();
  /** The first full log line of each kind counted in `warnings`. */
  readonly warningSamples = new Map<string, string>();

  private constructor(
    private readonly env: Record<string, string>,
    size: number,
    private readonly slotEnv?: (slot: number) => Record<string, string>,
  ) {
    this.slots = new Array(size).fill(undefined);
    this.generations = new Array(size).fill(0);
  }

  /**
   * Starts `size` instances on `databaseUrl`: the first alone (it migrates), the rest together.
   * `env` adds to CHAOS_SERVER_ENV; `slotEnv` adds per instance (e.g. its own DATABASE_URL).
   */
  static async start(
    databaseUrl: string,
    size: number,
    env: Record<string, string> = {},
    slotEnv?: (slot: number) => Record<string, string>,
  ): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(
      { ...CHAOS_SERVER_ENV, DATABASE_URL: databaseUrl, ...env },
      size,
      slotEnv,
    );
    await cluster.startSlot(0);
    await Promise.all(Array.from({ length: size - 1 }, (_, i) => cluster.startSlot(i + 1)));
    return cluster;
  }

  get size(): number {
    return this.slots.length;
  }

  /** The instances running now. */
  live(): ChaosNode[] {
    return this.slots.filter(
      (n): n is ChaosNode =>
        n !== undefined && n.proc.child.exitCode === null && n.proc.child.signalCode === null,
    );
  }

  node(slot: number): ChaosNode | undefined {
    return this.slots[slot];
  }

  /** A random live instance, waiting (up to `timeoutMs`) while none is running. */
  async pick(timeoutMs = 30_000): Promise<ChaosNode> {
    const started = Date.now();
    for (;;) {
      const live = this.live();
      if (live.length > 0) return live[Math.floor(Math.random() * live.length)] as ChaosNode;
      if (Date.now() - started > timeoutMs) throw new Error(`no live herald instance for ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  async startSlot(slot: number): Promise<ChaosNode> {
    const proc = await startHeraldProcess(
      { ...this.env, ...this.slotEnv?.(slot) },
      { startTimeoutMs: 60_000 },
    );
    this.generations[slot] = (this.generations[slot] ?? 0) + 1;
    const metricsLine = proc.outputLines.map(parse).find((e) => e?.msg === "metrics listening");
    const node: ChaosNode = {
      slot,
      generation: this.generations[slot] as number,
      proc,
      clients: createHeraldClients(proc.url),
      url: proc.url,
      metricsUrl: typeof metricsLine?.url === "string" ? metricsLine.url : undefined,
      pid: proc.child.pid ?? 0,
    };
    this.slots[slot] = node;
    this.watchWarnings(proc);
    return node;
  }

  private watchWarnings(proc: HeraldProcess): void {
    let seen = 0;
    const scan = () => {
      const lines = proc.outputLines;
      for (; seen < lines.length; seen++) {
        const entry = parse(lines[seen] as string);
        if (!entry) continue;
        const level = Number(entry.level);
        if (level >= 40 || entry.level === "warn" || entry.level === "error") {
          const error = (entry.error ?? {}) as { code?: unknown; message?: unknown };
          const detail = error.code ?? (typeof error.message === "string" ? error.message.slice(0, 80) : "");
          const key = `${entry.level}: ${String(entry.msg)}${detail ? ` (${String(detail)})` : ""}`;
          this.warnings.set(key, (this.warnings.get(key) ?? 0) + 1);
          if (!this.warningSamples.has(key))
            this.warningSamples.set(key, (lines[seen] as string).slice(0, 1500));
        }
      }
    };
    const timer = setInterval(scan, 500);
    void proc.exited.then(() => {
      scan();
      clearInterval(timer);
    });
  }

  /** SIGKILLs the instance in `slot` and waits for it to be gone. */
  async kill(slot: number): Promise<void> {
    const node = this.slots[slot];
    if (!node) return;
    const exit = await node.proc.stop("SIGKILL");
    this.exits.push({ slot, generation: node.generation, exit, how: "SIGKILL" });
  }

  /** SIGTERMs every live instance at once and records how each exited (0 is a clean graceful stop). */
  async stopAll(): Promise<{ slot: number; exit: ProcessExit }[]> {
    const live = this.live();
    const results = await Promise.all(
      live.map(async (node) => {
        let exit: ProcessExit;
        try {
          exit = await node.proc.stop("SIGTERM", 30_000);
        } catch {
          exit = { code: null, signal: "SIGKILL" };
        }
        this.exits.push({ slot: node.slot, generation: node.generation, exit, how: "SIGTERM" });
        return { slot: node.slot, exit };
      }),
    );
    return results;
  }

  /** Memory (after a forced GC), active handles and open fds of every live instance. */
  async sample(): Promise<ProcessSample[]> {
    const samples = await Promise.all(this.live().map((node) => sampleNode(node)));
    return samples.filter((s): s is ProcessSample => s !== undefined);
  }
}

/** Asks the preloaded probe for a memory line and reads /proc for fds; undefined if the process went away. */
async function sampleNode(node: ChaosNode): Promise<ProcessSample | undefined> {
  const from = node.proc.outputLines.length;
  try {
    node.proc.child.kill("SIGUSR2");
  } catch {
    return undefined;
  }
  const started = Date.now();
  let probe: Record<string, unknown> | undefined;
  while (!probe && Date.now() - started < 5_000) {
    await sleep(20);
    const lines = node.proc.outputLines;
    for (let i = from; i < lines.length && !probe; i++) {
      const entry = parse(lines[i] as string);
      if (entry?.msg === "chaos memory probe") probe = entry;
    }
  }
  if (!probe) return undefined;
  let openFds = -1;
  try {
    openFds = readdirSync(`/proc/${node.pid}/fd`).length;
  } catch {
    // Not Linux, or the process is gone.
  }
  let rssBytes = Number(probe.rss);
  try {
    const status = readFileSync(`/proc/${node.pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    if (kb) rssBytes = Number(kb) * 1024;
  } catch {
    // Keep the probe's own figure.
  }
  return {
    slot: node.slot,
    pid: node.pid,
    atMs: Number(probe.atMs),
    rssBytes,
    heapUsedBytes: Number(probe.heapUsed),
    heapTotalBytes: Number(probe.heapTotal),
    activeHandles: Number(probe.activeResources),
    resourceCounts: (probe.resourceCounts ?? {}) as Record<string, number>,
    openFds,
  };
}
