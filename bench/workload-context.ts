/** The context workloads run in: settings, unique names, and the process meters around a run. */
import type { BenchSettings } from "./bench-settings.js";
import type { MysqlStatusReader } from "./mysql-status.js";
import type { Peer } from "./peers/peer.js";
import { readMachineBusySeconds, startProcessMeter } from "./process-meter.js";
import type { RunCost, WorkloadContext } from "./workloads/workload.js";

/**
 * A context whose meters read the peer's server process, `databasePid` (if any), this process and,
 * when given, the database server's global status counters.
 */
export function createWorkloadContext(
  settings: BenchSettings,
  runTag: string,
  databasePid: number | undefined,
  databaseStatus?: MysqlStatusReader,
): WorkloadContext {
  let counter = 0;
  return {
    settings,
    uniqueTag: (stem) => `${stem}-${runTag}-${++counter}`,
    async startMeter(peer: Peer) {
      // Read first, so the status query's own round trip is outside the CPU window.
      const status = await databaseStatus?.start();
      const server = startProcessMeter(peer.serverPid);
      const database = startProcessMeter(databasePid);
      const client = process.cpuUsage();
      const machineStart = readMachineBusySeconds();
      const startMs = performance.now();
      return {
        async finish(): Promise<RunCost> {
          const s = server.finish();
          const d = database.finish();
          const c = process.cpuUsage(client);
          const machineEnd = readMachineBusySeconds();
          const elapsedSeconds = (performance.now() - startMs) / 1000;
          const databaseStatusDelta = await status?.finish();
          return {
            clientCpuSeconds: (c.user + c.system) / 1e6,
            elapsedSeconds,
            ...(machineStart !== undefined && machineEnd !== undefined
              ? { machineCpuSeconds: machineEnd - machineStart }
              : {}),
            ...(s ? { serverCpuSeconds: s.cpuSeconds, serverPeakRssBytes: s.peakRssBytes } : {}),
            ...(d ? { databaseCpuSeconds: d.cpuSeconds } : {}),
            ...(databaseStatusDelta ? { databaseStatus: databaseStatusDelta } : {}),
          };
        },
      };
    },
  };
}
