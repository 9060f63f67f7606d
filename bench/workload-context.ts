/** The context workloads run in: settings, unique names, and the process meters around a run. */
import type { BenchSettings } from "./bench-settings.js";
import type { Peer } from "./peers/peer.js";
import { readMachineBusySeconds, startProcessMeter } from "./process-meter.js";
import type { RunCost, WorkloadContext } from "./workloads/workload.js";

/** A context whose meters read the peer's server process, `databasePid` (if any) and this process. */
export function createWorkloadContext(
  settings: BenchSettings,
  runTag: string,
  databasePid: number | undefined,
): WorkloadContext {
  let counter = 0;
  return {
    settings,
    uniqueTag: (stem) => `${stem}-${runTag}-${++counter}`,
    startMeter(peer: Peer) {
      const server = startProcessMeter(peer.serverPid);
      const database = startProcessMeter(databasePid);
      const client = process.cpuUsage();
      const machineStart = readMachineBusySeconds();
      const startMs = performance.now();
      return {
        finish(): RunCost {
          const s = server.finish();
          const d = database.finish();
          const c = process.cpuUsage(client);
          const machineEnd = readMachineBusySeconds();
          return {
            clientCpuSeconds: (c.user + c.system) / 1e6,
            elapsedSeconds: (performance.now() - startMs) / 1000,
            ...(machineStart !== undefined && machineEnd !== undefined
              ? { machineCpuSeconds: machineEnd - machineStart }
              : {}),
            ...(s ? { serverCpuSeconds: s.cpuSeconds, serverPeakRssBytes: s.peakRssBytes } : {}),
            ...(d ? { databaseCpuSeconds: d.cpuSeconds } : {}),
          };
        },
      };
    },
  };
}
