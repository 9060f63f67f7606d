import type { HeraldServer } from "../../src/herald-server.js";

/**
 * Claims the server has finished so far (every Pull, stream and push claim, empty ones included),
 * from its `herald_claim_duration_seconds` histogram: lets a test wait for a stream's first claim
 * instead of sleeping for it.
 */
export async function claimCount(server: HeraldServer): Promise<number> {
  const text = await server.metrics.scrape();
  return Number(/^herald_claim_duration_seconds_count (\d+)/m.exec(text)?.[1] ?? 0);
}
