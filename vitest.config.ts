import { defineConfig } from "vitest/config";

// Server and database tests share ports-0 servers and per-file databases; running files
// one at a time in forked processes keeps them independent and keeps CI memory flat.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
