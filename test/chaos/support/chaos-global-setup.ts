/**
 * Global setup of the chaos suite: gives the scenarios a directory for their JSON reports
 * (HERALD_CHAOS_REPORT_DIR) and, at the end of the run, prints one summary of every scenario.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ScenarioReport } from "./chaos-report.js";

export default function setup(): () => void {
  const dir = process.env.HERALD_CHAOS_REPORT_DIR ?? mkdtempSync(join(tmpdir(), "herald-chaos-"));
  process.env.HERALD_CHAOS_REPORT_DIR = dir;
  const startedAtMs = Date.now();
  return () => {
    const reports = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as ScenarioReport);
    const lines = [
      "",
      `=== Herald chaos suite: ${reports.length} scenario reports in ${((Date.now() - startedAtMs) / 1000).toFixed(1)} s (${process.env.CHAOS_QUICK ? "CHAOS_QUICK" : "default scale"}); JSON in ${dir}`,
    ];
    for (const r of reports) {
      const rows = r.audit.rows;
      const sum = (pick: (row: (typeof rows)[number]) => number) => rows.reduce((n, row) => n + pick(row), 0);
      lines.push(
        `${r.passed ? "PASS" : "FAIL"}  ${r.id.padEnd(14)} published ${String(r.publish.published).padStart(6)}  lost ${sum((x) => x.lost)}  ` +
          `dup.deliveries ${sum((x) => x.duplicateDeliveries)}  stored-dups ${sum((x) => x.storedDuplicates)}  ` +
          `DLQ ${sum((x) => x.deadLettered)}  drain ${(r.audit.drainMs / 1000).toFixed(1)} s  took ${(r.durationMs / 1000).toFixed(1)} s`,
      );
      for (const f of r.failures) lines.push(`      FAILED: ${f}`);
    }
    console.log(lines.join("\n"));
  };
}
