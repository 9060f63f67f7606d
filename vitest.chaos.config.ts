import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Runs the scenarios in their numbered order (01-… to 06-…), not by cached duration. */
class NumberedOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}

// The fault-injection suite (`npm run test:chaos`; CHAOS_QUICK=1 or `npm run test:chaos:quick` for
// the bounded CI form; scale knobs in test/chaos/support/chaos-settings.ts). Its files end in
// .chaos.ts so that the normal `npm test` (src/**/*.test.ts, test/**/*.test.ts) never picks them up.
// Scenarios run one at a time: they kill servers and restart databases, and measure recovery and memory.
export default defineConfig({
  test: {
    include: ["test/chaos/**/*.chaos.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 30 * 60_000,
    hookTimeout: 120_000,
    globalSetup: ["test/chaos/support/chaos-global-setup.ts"],
    sequence: { sequencer: NumberedOrder },
  },
});
