/** `herald snapshots list|get|create|update|delete`. */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import {
  CreateSnapshotResponseSchema,
  DeleteSnapshotResponseSchema,
  GetSnapshotResponseSchema,
  ListSnapshotsResponseSchema,
  type Snapshot,
  SnapshotSchema,
  UpdateSnapshotResponseSchema,
} from "../../../gen/herald/v1/admin_service_pb.js";
import { withConnection } from "../cli-context.js";
import { messageJson, printFields, printJson, printLine, printNextPageHint, printTable } from "../output.js";
import { collectAttribute, parseFutureInstant } from "../parse-values.js";
import { formatTime, pageOptions } from "./common.js";

function printSnapshot(snapshot: Snapshot | undefined): void {
  if (snapshot) printFields(messageJson(SnapshotSchema, snapshot));
}

function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

export function registerSnapshotCommands(program: Command): void {
  const snapshots = program
    .command("snapshots")
    .description("a subscription's acked state, to seek back to (herald subscriptions seek --snapshot)");

  pageOptions(snapshots.command("list").description("list live snapshots"))
    .option("--topic <code>", "only snapshots of this topic")
    .action(
      withConnection(async ({ conn, isJson, command }) => {
        const o = command.opts<{ pageSize?: number; pageToken?: string; topic?: string }>();
        const response = await conn.admin.listSnapshots(
          { pageSize: o.pageSize, pageToken: o.pageToken, topic: o.topic },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(ListSnapshotsResponseSchema, response));
        printTable(response.snapshots, [
          ["NAME", (s) => s.name],
          ["TOPIC", (s) => s.topic],
          ["FROM", (s) => s.sourceSubscription],
          ["EXPIRES", (s) => formatTime(s.expireTime)],
          ["LABELS", (s) => labelsText(s.labels)],
        ]);
        printNextPageHint(response.nextPageToken);
      }),
    );

  snapshots
    .command("get")
    .description("show one snapshot")
    .argument("<name>", "snapshot name")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.getSnapshot({ name: args[0] as string }, conn.unary);
        if (isJson) return printJson(messageJson(GetSnapshotResponseSchema, response));
        printSnapshot(response.snapshot);
      }),
    );

  snapshots
    .command("create")
    .description("capture a subscription's acked state: its unacked messages and every later one")
    .argument("<name>", "snapshot name")
    .requiredOption("--subscription <name>", "the subscription to capture")
    .option("--label <key=value>", "a label (repeatable)", collectAttribute)
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const o = command.opts<{ subscription: string; label?: Record<string, string> }>();
        const response = await conn.admin.createSnapshot(
          { name: args[0] as string, subscription: o.subscription, labels: o.label ?? {} },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(CreateSnapshotResponseSchema, response));
        printSnapshot(response.snapshot);
      }),
    );

  snapshots
    .command("update")
    .description("replace a snapshot's labels and/or move its expiry (at most 7 days after creation)")
    .argument("<name>", "snapshot name")
    .option("--label <key=value>", "a label (repeatable); replaces all labels", collectAttribute)
    .option("--clear-labels", "remove every label")
    .option("--expire <time>", "RFC 3339, or a duration from now (2h)", (v) => parseFutureInstant(v))
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const o = command.opts<{
          label?: Record<string, string>;
          clearLabels?: boolean;
          expire?: Timestamp;
        }>();
        const paths = [
          ...(o.label !== undefined || o.clearLabels ? ["labels"] : []),
          ...(o.expire !== undefined ? ["expire_time"] : []),
        ];
        const response = await conn.admin.updateSnapshot(
          {
            name: args[0] as string,
            labels: o.label ?? {},
            ...(o.expire !== undefined ? { expireTime: o.expire } : {}),
            updateMask: { paths },
          },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(UpdateSnapshotResponseSchema, response));
        printSnapshot(response.snapshot);
      }),
    );

  snapshots
    .command("delete")
    .description("delete a snapshot")
    .argument("<name>", "snapshot name")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.deleteSnapshot({ name: args[0] as string }, conn.unary);
        if (isJson) return printJson(messageJson(DeleteSnapshotResponseSchema, response));
        printLine(`deleted snapshot "${args[0]}"`);
      }),
    );
}
