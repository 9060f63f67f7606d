import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

const timeouts = { testTimeout: 30_000, hookTimeout: 60_000 };

/**
 * Files that start real servers or open databases: one file at a time in forked processes, so
 * port-0 servers, per-file databases and memory measurements stay independent and CI memory flat.
 * (Vitest runs every project with fileParallelism off in one sequential group, after the parallel ones.)
 */
function serialProject(name: string, include: string[]): TestProjectInlineConfiguration {
  return { test: { name, include, pool: "forks", fileParallelism: false, ...timeouts } };
}

// The 100k/15k-size cases cost minutes: CI (CI=true, which .ci/run sets) runs them, a local `npm test`
// skips them unless TEST_SCALE=true (`npm run test:scale` runs only them).
const runScale = process.env.CI === "true" || process.env.TEST_SCALE === "true";

export default defineConfig({
  test: {
    projects: [
      // Pure and in-process tests beside the code, and use-case tests over in-memory SQLite (one
      // private database per test): no shared resources, so files run in parallel.
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "test/architecture.test.ts", "test/use-cases/**/*.test.ts"],
          pool: "forks",
          ...timeouts,
        },
      },
      serialProject("storage", ["test/storage/**/*.test.ts"]),
      serialProject("e2e", ["test/e2e/**/*.test.ts"]),
      ...(runScale ? [serialProject("scale", ["test/scale/**/*.test.ts"])] : []),
    ],
  },
});
