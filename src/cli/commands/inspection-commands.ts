/**
 * `herald queue SUBSCRIPTION` (its queue rows with retry state) and `herald logs` (the delivery log,
 * one row per attempt): where to look when a message is late or missing.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { type Command, Option } from "commander";
import {
  ListNotificationLogsResponseSchema,
  ListQueueItemsResponseSchema,
} from "../../../gen/herald/v1/admin_service_pb.js";
import { withConnection } from "../cli-context.js";
import { messageJson, printJson, printNextPageHint, printTable } from "../output.js";
import { parseId, parseInstant } from "../parse-values.js";
import { formatTime, pageOptions } from "./common.js";

export function registerInspectionCommands(program: Command): void {
  pageOptions(
    program
      .command("queue")
      .description("a subscription's queued deliveries with their attempts, retry time and last error")
      .argument("<subscription>", "subscription name")
      .addOption(
        new Option("--status <status>", "only rows in this status").choices([
          "pending",
          "leased",
          "sent",
          "failed",
          "dead_lettered",
        ]),
      ),
  ).action(
    withConnection(async ({ conn, isJson, args, command }) => {
      const o = command.opts<{ status?: string; pageSize?: number; pageToken?: string }>();
      const response = await conn.admin.listQueueItems(
        {
          subscription: args[0] as string,
          status: o.status ?? "",
          pageSize: o.pageSize,
          pageToken: o.pageToken,
        },
        conn.unary,
      );
      if (isJson) return printJson(messageJson(ListQueueItemsResponseSchema, response));
      printTable(response.queueItems, [
        ["ID", (q) => String(q.id)],
        ["MESSAGE ID", (q) => q.messageId],
        ["STATUS", (q) => q.status],
        ["ATTEMPTS", (q) => String(q.attemptCount)],
        ["DELIVER AT", (q) => formatTime(q.deliverTime)],
        ["NEXT RETRY", (q) => formatTime(q.nextRetryTime)],
        ["EXPIRES", (q) => formatTime(q.expireTime)],
        ["LAST ERROR", (q) => q.lastError],
      ]);
      printNextPageHint(response.nextPageToken);
    }),
  );

  pageOptions(
    program
      .command("logs")
      .description("the delivery log, one row per attempt, newest first")
      .option("--subscription <name>", "only this subscription's attempts")
      .option("--message-id <id>", "only this message's attempts")
      .option("--subscriber-id <id>", "only this subscriber's attempts", parseId)
      .addOption(new Option("--method <method>", "delivery method").choices(["webhook", "grpc", "pull"]))
      .addOption(
        new Option("--status <status>", "attempt status").choices(["pending", "sent", "failed", "skipped"]),
      )
      .option("--since <time>", "at or after: RFC 3339, or a duration ago (1h)", (v) => parseInstant(v))
      .option("--before <time>", "before: RFC 3339, or a duration ago", (v) => parseInstant(v)),
  ).action(
    withConnection(async ({ conn, isJson, command }) => {
      const o = command.opts<{
        subscription?: string;
        messageId?: string;
        subscriberId?: bigint;
        method?: string;
        status?: string;
        since?: Timestamp;
        before?: Timestamp;
        pageSize?: number;
        pageToken?: string;
      }>();
      const response = await conn.admin.listNotificationLogs(
        {
          subscription: o.subscription ?? "",
          messageId: o.messageId ?? "",
          subscriberId: o.subscriberId ?? 0n,
          deliveryMethod: o.method ?? "",
          status: o.status ?? "",
          ...(o.since ? { startTime: o.since } : {}),
          ...(o.before ? { endTime: o.before } : {}),
          pageSize: o.pageSize,
          pageToken: o.pageToken,
        },
        conn.unary,
      );
      if (isJson) return printJson(messageJson(ListNotificationLogsResponseSchema, response));
      printTable(response.notificationLogs, [
        ["TIME", (l) => formatTime(l.createTime)],
        ["MESSAGE ID", (l) => l.messageId],
        ["TOPIC", (l) => l.topic],
        ["METHOD", (l) => l.deliveryMethod],
        ["STATUS", (l) => l.status],
        ["HTTP", (l) => (l.httpStatus === 0 ? "" : String(l.httpStatus))],
        ["MS", (l) => String(l.durationMs)],
        ["ERROR", (l) => l.error || l.skippedReason],
      ]);
      printNextPageHint(response.nextPageToken);
    }),
  );
}
