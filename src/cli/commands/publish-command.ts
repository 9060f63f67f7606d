/**
 * `herald publish --publisher P --topic T [--data TEXT | stdin]`. With --lines every stdin line is
 * one message, published in batches as they fill, so a large file is never held in memory whole.
 * --deliver-at schedules the messages (PublishMessage.deliver_at).
 */
import { createInterface } from "node:readline";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import type { PublishMessageSchema } from "../../../gen/herald/v1/publisher_service_pb.js";

import { withConnection } from "../cli-context.js";
import { UsageError } from "../exit-codes.js";
import { printJson, printLine } from "../output.js";
import { collectAttribute, parseFutureInstant } from "../parse-values.js";

type PublishMessageInit = MessageInitShape<typeof PublishMessageSchema>;

/** The server takes at most 1000 messages and 10 MiB per request; leave room for framing. */
const MAX_BATCH_MESSAGES = 1000;
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

interface PublishOptions {
  publisher: string;
  topic: string;
  data?: string;
  lines?: boolean;
  attr?: Record<string, string>;
  orderingKey?: string;
  identifier?: string;
  dedupId?: string;
  deliverAt?: Timestamp;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

export function registerPublishCommand(program: Command): void {
  program
    .command("publish")
    .description("publish a message (--data, or stdin; --lines: one message per stdin line)")
    .requiredOption("--publisher <code>", "publishing publisher's code")
    .requiredOption("--topic <code>", "topic code")
    .option("--data <text>", "the payload (otherwise read from stdin)")
    .option("--lines", "publish each stdin line as one message (empty lines are skipped)")
    .option("--attr <key=value>", "an attribute (repeatable)", collectAttribute)
    .option("--ordering-key <key>", "ordering key")
    .option("--identifier <id>", "event identifier that subscriptions filter on")
    .option("--dedup-id <id>", "deduplication id (one message only)")
    .option(
      "--deliver-at <time>",
      "deliver no earlier than: RFC 3339, or a duration from now (15m); at most 31 days ahead",
      (v) => parseFutureInstant(v),
    )
    .action(
      withConnection(async ({ conn, isJson, command }) => {
        const o = command.opts<PublishOptions>();
        if (o.data !== undefined && o.lines) throw new UsageError("give --data or --lines, not both");
        if (o.data === undefined && process.stdin.isTTY) {
          throw new UsageError("give --data TEXT, or pipe the message on stdin");
        }
        if (o.dedupId !== undefined && o.lines)
          throw new UsageError("--dedup-id applies to one message, not --lines");
        const template = {
          attributes: o.attr ?? {},
          orderingKey: o.orderingKey ?? "",
          identifier: o.identifier ?? "",
          dedupId: o.dedupId ?? "",
          ...(o.deliverAt ? { deliverAt: o.deliverAt } : {}),
        };
        const ids: string[] = [];
        const publish = async (messages: PublishMessageInit[]) => {
          const response = await conn.publisher.publish(
            { publisher: o.publisher, topic: o.topic, messages },
            conn.unary,
          );
          ids.push(...response.messageIds);
          if (!isJson) for (const id of response.messageIds) printLine(id);
        };
        if (o.lines) {
          await publishLines(template, publish);
        } else {
          const data = o.data !== undefined ? new TextEncoder().encode(o.data) : await readAll(process.stdin);
          await publish([{ ...template, data }]);
        }
        if (isJson) printJson({ messageIds: ids });
      }),
    );
}

async function publishLines(
  template: PublishMessageInit,
  publish: (messages: PublishMessageInit[]) => Promise<void>,
): Promise<void> {
  const encoder = new TextEncoder();
  let batch: PublishMessageInit[] = [];
  let batchBytes = 0;
  let count = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line === "") continue;
    const data = encoder.encode(line);
    // One oversized line travels alone (the server says whether it fits).
    if (
      batch.length > 0 &&
      (batch.length >= MAX_BATCH_MESSAGES || batchBytes + data.length > MAX_BATCH_BYTES)
    ) {
      await publish(batch);
      batch = [];
      batchBytes = 0;
    }
    batch.push({ ...template, data });
    batchBytes += data.length;
    count += 1;
  }
  if (batch.length > 0) await publish(batch);
  if (count === 0) throw new UsageError("--lines read no message from stdin");
}
