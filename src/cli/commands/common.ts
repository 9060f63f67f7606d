/** Options and formatting shared by the command files. */
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { integerIn } from "../parse-values.js";

/** --page-size and --page-token for a list command. */
export function pageOptions(command: Command): Command {
  return command
    .option("--page-size <n>", "results per page, 1..1000 (server default 100)", integerIn(1, 1000))
    .option("--page-token <token>", "continue a previous list");
}

/** A timestamp as RFC 3339 in UTC, "" when unset. */
export function formatTime(timestamp: Timestamp | undefined): string {
  return timestamp ? timestampDate(timestamp).toISOString() : "";
}
