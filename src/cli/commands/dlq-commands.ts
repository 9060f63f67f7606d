/** `herald dlq list|get|stats|replay|resolve|purge`: the dead letters of a subscription (or all). */
import { userInfo } from "node:os";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { type Command, Option } from "commander";
import {
  type DeadLetterFilterSchema,
  DeadLetterSchema,
  DeadLetterStatsSchema,
  GetDeadLetterStatsResponseSchema,
  ListDeadLettersResponseSchema,
  PurgeDeadLettersResponseSchema,
  ReplayDeadLettersResponseSchema,
  ResolutionFilter,
} from "../../../gen/herald/v1/dead_letter_service_pb.js";
import { withConnection } from "../cli-context.js";
import type { HeraldConnection } from "../connection.js";
import { UsageError } from "../exit-codes.js";
import {
  formatData,
  messageJson,
  printFields,
  printJson,
  printLine,
  printNextPageHint,
  printTable,
} from "../output.js";
import { collectIds, parseId, parseInstant } from "../parse-values.js";
import { formatTime, pageOptions } from "./common.js";

interface FilterOptions {
  subscription?: string;
  resolution?: "unresolved" | "resolved" | "all";
  reason?: string;
  since?: Timestamp;
  before?: Timestamp;
}

const RESOLUTIONS = {
  all: ResolutionFilter.UNSPECIFIED,
  unresolved: ResolutionFilter.UNRESOLVED,
  resolved: ResolutionFilter.RESOLVED,
} as const;

function filterOptions(command: Command, defaultResolution: keyof typeof RESOLUTIONS): Command {
  return command
    .option("--subscription <name>", "only this subscription's dead letters")
    .addOption(
      new Option("--resolution <state>", "resolution state")
        .choices(Object.keys(RESOLUTIONS))
        .default(defaultResolution),
    )
    .option(
      "--reason <reason>",
      "failure reason: MAX_ATTEMPTS, EXPIRED, GONE, SUBSCRIPTION_DELETED or REJECTED",
    )
    .option("--since <time>", "moved at or after: RFC 3339, or a duration ago (1h, 7d)", (v) =>
      parseInstant(v),
    )
    .option("--before <time>", "moved before: RFC 3339, or a duration ago", (v) => parseInstant(v));
}

function filterOf(o: FilterOptions): MessageInitShape<typeof DeadLetterFilterSchema> {
  return {
    subscription: o.subscription ?? "",
    resolution: RESOLUTIONS[o.resolution ?? "all"],
    failureReason: o.reason ?? "",
    ...(o.since ? { movedAfter: o.since } : {}),
    ...(o.before ? { movedBefore: o.before } : {}),
  };
}

function hasFilter(o: FilterOptions): boolean {
  return (
    o.subscription !== undefined || o.reason !== undefined || o.since !== undefined || o.before !== undefined
  );
}

/** Who did it, recorded as resolved_by: "cli:<os user>" unless --by says otherwise. */
function defaultActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return "cli";
  }
}

/** Every unresolved dead letter's id matching `filter`, page by page (resolve takes ids only). */
async function matchingIds(
  conn: HeraldConnection,
  filter: MessageInitShape<typeof DeadLetterFilterSchema>,
): Promise<bigint[]> {
  const ids: bigint[] = [];
  let pageToken = "";
  do {
    const page = await conn.deadLetters.listDeadLetters(
      { filter: { ...filter, resolution: ResolutionFilter.UNRESOLVED }, pageSize: 1000, pageToken },
      conn.unary,
    );
    ids.push(...page.deadLetters.map((d) => d.id));
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return ids;
}

export function registerDeadLetterCommands(program: Command): void {
  const dlq = program.command("dlq").description("dead letters: browse, replay, resolve, purge");

  filterOptions(
    pageOptions(dlq.command("list").description("list dead letters, newest first")),
    "all",
  ).action(
    withConnection(async ({ conn, isJson, command }) => {
      const o = command.opts<FilterOptions & { pageSize?: number; pageToken?: string }>();
      const response = await conn.deadLetters.listDeadLetters(
        { filter: filterOf(o), pageSize: o.pageSize, pageToken: o.pageToken },
        conn.unary,
      );
      if (isJson) return printJson(messageJson(ListDeadLettersResponseSchema, response));
      printTable(response.deadLetters, [
        ["ID", (d) => String(d.id)],
        ["SUBSCRIPTION", (d) => d.subscription],
        ["MESSAGE ID", (d) => d.messageId],
        ["REASON", (d) => d.failureReason],
        ["ATTEMPTS", (d) => String(d.attemptCount)],
        ["MOVED", (d) => formatTime(d.movedTime)],
        ["RESOLVED", (d) => (d.resolved ? `yes (${d.resolvedBy})` : "no")],
        ["LAST ERROR", (d) => d.lastError],
      ]);
      printNextPageHint(response.nextPageToken);
    }),
  );

  dlq
    .command("get")
    .description("show one dead letter with its payload")
    .argument("<id>", "dead letter id", parseId)
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.deadLetters.getDeadLetter({ id: args[0] as bigint }, conn.unary);
        const deadLetter = response.deadLetter;
        if (isJson || !deadLetter)
          return printJson(deadLetter ? { deadLetter: messageJson(DeadLetterSchema, deadLetter) } : {});
        printFields({
          ...messageJson(DeadLetterSchema, deadLetter),
          messageData: formatData(deadLetter.messageData),
        });
      }),
    );

  dlq
    .command("stats")
    .description("dead-letter counts and ages, for one subscription or all")
    .option("--subscription <name>", "only this subscription")
    .action(
      withConnection(async ({ conn, isJson, command }) => {
        const { subscription } = command.opts<{ subscription?: string }>();
        const response = await conn.deadLetters.getDeadLetterStats(
          { subscription: subscription ?? "" },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(GetDeadLetterStatsResponseSchema, response));
        if (response.stats) printFields(messageJson(DeadLetterStatsSchema, response.stats));
      }),
    );

  filterOptions(
    dlq
      .command("replay")
      .description("re-enqueue dead letters to their subscription (by id, or every one matching the filters)")
      .argument("[ids...]", "dead letter ids (or use the filters)", collectIds)
      .option("--force", "also replay dead letters already resolved")
      .option("--by <who>", "recorded as resolved_by (default cli:<user>)"),
    "unresolved",
  ).action(
    withConnection(async ({ conn, isJson, args, command }) => {
      const ids = (args[0] as bigint[] | undefined) ?? [];
      const o = command.opts<FilterOptions & { force?: boolean; by?: string }>();
      if (ids.length === 0 && !hasFilter(o)) {
        throw new UsageError("give dead letter ids, or a filter such as --subscription NAME or --since 1h");
      }
      if (ids.length > 0 && hasFilter(o)) throw new UsageError("give dead letter ids or filters, not both");
      const response = await conn.deadLetters.replayDeadLetters(
        {
          ids,
          ...(ids.length === 0 ? { filter: filterOf(o) } : {}),
          force: o.force === true,
          resolvedBy: o.by ?? defaultActor(),
        },
        conn.unary,
      );
      if (isJson) return printJson(messageJson(ReplayDeadLettersResponseSchema, response));
      printLine(`replayed ${response.replayedCount} dead letter(s)`);
    }),
  );

  filterOptions(
    dlq
      .command("resolve")
      .description(
        "mark dead letters resolved without redelivery (by id, or every unresolved one matching the filters)",
      )
      .argument("[ids...]", "dead letter ids (or use the filters)", collectIds)
      .option("--by <who>", "recorded as resolved_by (default cli:<user>)")
      .option("--note <text>", "resolution note", ""),
    "unresolved",
  ).action(
    withConnection(async ({ conn, isJson, args, command }) => {
      const o = command.opts<FilterOptions & { by?: string; note: string }>();
      let ids = (args[0] as bigint[] | undefined) ?? [];
      if (ids.length === 0 && !hasFilter(o)) {
        throw new UsageError("give dead letter ids, or a filter such as --subscription NAME or --since 1h");
      }
      if (ids.length > 0 && hasFilter(o)) throw new UsageError("give dead letter ids or filters, not both");
      if (ids.length === 0) ids = await matchingIds(conn, filterOf(o));
      let resolved = 0n;
      for (let i = 0; i < ids.length; i += 1000) {
        const response = await conn.deadLetters.resolveDeadLetters(
          { ids: ids.slice(i, i + 1000), resolvedBy: o.by ?? defaultActor(), note: o.note },
          conn.unary,
        );
        resolved += response.resolvedCount;
      }
      if (isJson) return printJson({ resolvedCount: String(resolved) });
      printLine(`resolved ${resolved} dead letter(s)`);
    }),
  );

  dlq
    .command("purge")
    .description("delete resolved dead letters moved before a time (with --include-unresolved, all)")
    .option("--subscription <name>", "only this subscription's")
    .option("--older-than <time>", "moved before: RFC 3339, or a duration ago (default now)", (v) =>
      parseInstant(v),
    )
    .option("--include-unresolved", "also delete unresolved dead letters")
    .option("--yes", "confirm: purged dead letters cannot be recovered")
    .action(
      withConnection(async ({ conn, isJson, command }) => {
        const o = command.opts<{
          subscription?: string;
          olderThan?: Timestamp;
          includeUnresolved?: boolean;
          yes?: boolean;
        }>();
        if (!o.yes) throw new UsageError("purge deletes dead letters for good: add --yes to confirm");
        const response = await conn.deadLetters.purgeDeadLetters(
          {
            subscription: o.subscription ?? "",
            includeUnresolved: o.includeUnresolved === true,
            ...(o.olderThan ? { olderThan: o.olderThan } : {}),
          },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(PurgeDeadLettersResponseSchema, response));
        printLine(`purged ${response.purgedCount} dead letter(s)`);
      }),
    );
}
