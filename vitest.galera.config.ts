import { defineConfig } from "vitest/config";

// The Galera scenarios (`npm run test:galera`; GALERA_QUICK=1 for the bounded CI form): a 3-node
// MariaDB Galera cluster on loopback ports (test/galera/galera-cluster.ts) under real `herald serve`
// processes. Files end in .galera.ts so that `npm test` never picks them up. The chaos suite's
// global setup collects each phase's JSON report and prints the summary at the end.
export default defineConfig({
  test: {
    include: ["test/galera/**/*.galera.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 15 * 60_000,
    hookTimeout: 240_000,
    globalSetup: ["test/chaos/support/chaos-global-setup.ts"],
  },
});
