/** Settings of operational events (herald.events). Parsed from the record config.ts hands over. */
import { parseIntVar } from "./config-values.js";

export interface EventsConfig {
  /** Unresolved dead letters of one subscription that raise a `dead_letters.threshold` event; 0 = never. */
  deadLetterThreshold: number;
}

export function parseEventsConfig(problems: string[], env: Record<string, string | undefined>): EventsConfig {
  const raw = env.HERALD_EVENTS_DLQ_THRESHOLD;
  return {
    deadLetterThreshold: parseIntVar(
      problems,
      "HERALD_EVENTS_DLQ_THRESHOLD",
      raw === undefined || raw === "" ? "100" : raw,
      0,
      1_000_000_000,
    ),
  };
}
