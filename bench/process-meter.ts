/**
 * CPU time and resident memory of another process (the Herald child) from /proc/<pid>/stat and
 * /proc/<pid>/status. Linux only; elsewhere every reading is undefined and the report shows "n/a".
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

const TICKS_PER_SECOND = clockTicksPerSecond();

export interface ProcessUsage {
  /** User plus system CPU time since the process started, seconds. */
  cpuSeconds: number;
  /** Resident set size now, bytes (VmRSS). */
  rssBytes: number;
  /** Highest resident set size so far, bytes (VmHWM). */
  peakRssBytes: number;
}

/** One reading of `pid`'s CPU time and memory; undefined when /proc has no such process. */
export function readProcessUsage(pid: number): ProcessUsage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may contain spaces and parentheses: split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state), so utime (field 14) is fields[11] and stime (15) fields[12].
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return {
      cpuSeconds: cpuTicks / TICKS_PER_SECOND,
      rssBytes: kib("VmRSS") * 1024,
      peakRssBytes: kib("VmHWM") * 1024,
    };
  } catch {
    return undefined;
  }
}

export interface ProcessCost {
  /** CPU seconds the process used between start and finish. */
  cpuSeconds: number;
  /** Highest VmRSS seen while measuring (sampled every `sampleMs`), bytes. */
  peakRssBytes: number;
}

export interface ProcessMeter {
  /** Stops sampling; undefined when the process could not be read. */
  finish(): ProcessCost | undefined;
}

/** Starts measuring `pid` (no-op when undefined): CPU delta and sampled peak RSS until finish(). */
export function startProcessMeter(pid: number | undefined, sampleMs = 100): ProcessMeter {
  if (pid === undefined) return { finish: () => undefined };
  const start = readProcessUsage(pid);
  let peakRssBytes = start?.rssBytes ?? 0;
  const timer = setInterval(() => {
    const now = readProcessUsage(pid);
    if (now) peakRssBytes = Math.max(peakRssBytes, now.rssBytes);
  }, sampleMs);
  timer.unref();
  return {
    finish() {
      clearInterval(timer);
      const end = readProcessUsage(pid);
      if (!start || !end) return undefined;
      return {
        cpuSeconds: end.cpuSeconds - start.cpuSeconds,
        peakRssBytes: Math.max(peakRssBytes, end.rssBytes),
      };
    },
  };
}

/**
 * CPU seconds all CPUs spent in processes since boot (user, nice, system) from /proc/stat. Interrupt
 * and softirq time (loopback networking done on our processes' behalf) and steal are left out, so
 * this minus our processes' CPU is what other processes used.
 */
export function readMachineBusySeconds(): number | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const [, user, nice, system] = line.trim().split(/\s+/).map(Number);
    const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0);
    return busy / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The pid of the one process on this machine whose name (/proc/<pid>/comm) is `name`, if exactly one. */
export function findOnlyProcess(name: string): number | undefined {
  try {
    const matches = readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === name;
        } catch {
          return false;
        }
      });
    return matches.length === 1 ? Number(matches[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** The local server process named `name` behind `url`, when the url is loopback and exactly one runs. */
export function localServerPid(url: string, name: string): number | undefined {
  try {
    const host = new URL(url.includes("://") ? url : `tcp://${url}`).hostname;
    const isLoopback = host === "localhost" || host === "[::1]" || host.startsWith("127.");
    return isLoopback ? findOnlyProcess(name) : undefined;
  } catch {
    return undefined;
  }
}
