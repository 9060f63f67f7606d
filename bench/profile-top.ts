/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time and
 * the files/packages they live in. Usable alone: `node --import tsx bench/profile-top.ts <file>`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  name: string;
  where: string;
  selfMs: number;
  percent: number;
}

function shortPath(url: string): string {
  if (url === "") return "(native)";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf("node_modules/");
  if (nm >= 0) return path.slice(nm + "node_modules/".length);
  const src = path.search(/\/(src|gen|bench)\//);
  return src >= 0 ? path.slice(src + 1) : path;
}

/** Self time per function (top `limit`) and per file or package (top `limit`). */
export function topOfProfile(
  file: string,
  limit = 15,
): { functions: HotSpot[]; files: HotSpot[]; totalMs: number } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i] ?? 0));
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const fnTotals = new Map<string, { name: string; where: string; us: number }>();
  const fileTotals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = shortPath(url);
    const key = `${functionName}@${where}:${lineNumber}`;
    const entry = fnTotals.get(key) ?? {
      name: functionName || "(anonymous)",
      where: `${where}:${lineNumber + 1}`,
      us: 0,
    };
    entry.us += us;
    fnTotals.set(key, entry);
    const pkg = where.startsWith("@")
      ? where.split("/").slice(0, 2).join("/")
      : (where.split("/")[0] ?? where);
    const fileKey = url.includes("node_modules/") ? pkg : where;
    fileTotals.set(fileKey, (fileTotals.get(fileKey) ?? 0) + us);
  }
  const toSpot = (name: string, where: string, us: number): HotSpot => ({
    name,
    where,
    selfMs: us / 1000,
    percent: (us / totalUs) * 100,
  });
  return {
    totalMs: totalUs / 1000,
    functions: [...fnTotals.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, limit)
      .map((e) => toSpot(e.name, e.where, e.us)),
    files: [...fileTotals.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([where, us]) => toSpot(where, "", us)),
  };
}

export function formatTopOfProfile(file: string, limit = 15): string {
  const top = topOfProfile(file, limit);
  const pct = (p: number) => `${p.toFixed(1).padStart(5)}%`;
  return [
    `CPU profile ${file} (${(top.totalMs / 1000).toFixed(1)} s sampled)`,
    "  self time by function:",
    ...top.functions.map((f) => `  ${pct(f.percent)}  ${f.name}  ${f.where}`),
    "  self time by file or package:",
    ...top.files.map((f) => `  ${pct(f.percent)}  ${f.name}`),
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const file of process.argv.slice(2)) console.log(formatTopOfProfile(file));
}
