/**
 * Preloaded into chaos-suite herald processes (NODE_OPTIONS=--expose-gc --import=<this file>): on
 * SIGUSR2 it collects garbage and writes one JSON line to stderr with the process's memory and its
 * active handles, so the suite can report RSS, heap and open handles without touching src/.
 */
import { isMainThread } from "node:worker_threads";

if (isMainThread) {
  process.on("SIGUSR2", () => {
    globalThis.gc?.();
    const memory = process.memoryUsage();
    const resources = process.getActiveResourcesInfo();
    const resourceCounts = {};
    for (const kind of resources) resourceCounts[kind] = (resourceCounts[kind] ?? 0) + 1;
    process.stderr.write(
      `${JSON.stringify({
        msg: "chaos memory probe",
        atMs: Date.now(),
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        heapTotal: memory.heapTotal,
        external: memory.external,
        activeResources: resources.length,
        resourceCounts,
      })}\n`,
    );
  });
}
