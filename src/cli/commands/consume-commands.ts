/**
 * `herald pull`, `herald tail`, `herald ack`, `herald nack` and `herald reject`: read a PULL subscription as its subscriber would
 * (with an admin token or the subscriber's API key). Without --ack the messages stay leased until
 * their ack deadline and are then redelivered.
 */
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import {
  AcknowledgeResponseSchema,
  ModifyAckDeadlineResponseSchema,
  type ReceivedMessage,
  ReceivedMessageSchema,
  RejectResponseSchema,
} from "../../../gen/herald/v1/subscriber_service_pb.js";
import { withConnection } from "../cli-context.js";
import type { HeraldConnection } from "../connection.js";
import { cell, formatData, messageJson, printJson, printJsonLine, printLine, printTable } from "../output.js";
import { integerIn } from "../parse-values.js";
import { formatTime } from "./common.js";

/** One message on one line, for tail. */
function messageLine(received: ReceivedMessage): string {
  const m = received.message;
  const parts = [formatTime(m?.publishTime), m?.messageId ?? "", `attempt=${received.deliveryAttempt}`];
  if (m?.identifier) parts.push(`identifier=${m.identifier}`);
  if (m?.orderingKey) parts.push(`ordering-key=${m.orderingKey}`);
  for (const [k, v] of Object.entries(m?.attributes ?? {})) parts.push(`${k}=${v}`);
  return `${parts.join(" ")}: ${formatData(m?.data ?? new Uint8Array())}`;
}

async function acknowledge(conn: HeraldConnection, subscription: string, received: ReceivedMessage[]) {
  if (received.length === 0) return;
  const response = await conn.subscriber.acknowledge(
    { subscription, ackIds: received.map((r) => r.ackId) },
    conn.unary,
  );
  if (response.invalidAckIds.length > 0) {
    process.stderr.write(
      `herald: ${response.invalidAckIds.length} ack(s) came too late: redelivered already\n`,
    );
  }
}

export function registerConsumeCommands(program: Command): void {
  program
    .command("pull")
    .description("pull the messages available now (waiting up to --wait for the first)")
    .argument("<subscription>", "subscription name")
    .option("--max <n>", "most messages, 1..1000", integerIn(1, 1000), 10)
    .option("--wait <seconds>", "wait for the first message, 0..30", integerIn(0, 30), 0)
    .option("--ack", "acknowledge what was printed")
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const subscription = args[0] as string;
        const o = command.opts<{ max: number; wait: number; ack?: boolean }>();
        const response = await conn.subscriber.pull(
          { subscription, maxMessages: o.max, maxWait: durationFromMs(o.wait * 1000) },
          { timeoutMs: conn.unary.timeoutMs + o.wait * 1000 },
        );
        const received = response.receivedMessages;
        if (isJson) {
          for (const r of received) printJsonLine(messageJson(ReceivedMessageSchema, r));
        } else if (received.length === 0) {
          process.stderr.write("no messages\n");
        } else {
          printTable(received, [
            ["MESSAGE ID", (r) => r.message?.messageId ?? ""],
            ["ATTEMPT", (r) => String(r.deliveryAttempt)],
            ["IDENTIFIER", (r) => r.message?.identifier ?? ""],
            ["ATTRIBUTES", (r) => cell(r.message?.attributes ?? {})],
            ["DATA", (r) => formatData(r.message?.data ?? new Uint8Array())],
            ...(o.ack ? [] : ([["ACK ID", (r: ReceivedMessage) => r.ackId]] as const)),
          ]);
        }
        if (o.ack) await acknowledge(conn, subscription, received);
      }),
    );

  program
    .command("tail")
    .description("print messages as they arrive (a Subscribe stream) until Ctrl-C")
    .argument("<subscription>", "subscription name")
    .option("--ack", "acknowledge each message once printed")
    .option("--max-outstanding <n>", "most unacked messages on the stream", integerIn(1, 100_000), 1000)
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const subscription = args[0] as string;
        const o = command.opts<{ ack?: boolean; maxOutstanding: number }>();
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        try {
          const stream = conn.subscriber.subscribe(
            { subscription, maxOutstandingMessages: o.maxOutstanding },
            { signal: stop.signal },
          );
          for await (const batch of stream) {
            for (const r of batch.receivedMessages) {
              if (isJson) printJsonLine(messageJson(ReceivedMessageSchema, r));
              else printLine(messageLine(r));
            }
            if (o.ack) await acknowledge(conn, subscription, batch.receivedMessages);
          }
        } catch (error) {
          // Ctrl-C is how tail ends: not a failure.
          if (!(stop.signal.aborted && error instanceof ConnectError && error.code === Code.Canceled))
            throw error;
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
      }),
    );

  program
    .command("ack")
    .description("acknowledge deliveries by ack id (from pull)")
    .argument("<subscription>", "subscription name")
    .argument("<ack-ids...>", "ack ids")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.subscriber.acknowledge(
          { subscription: args[0] as string, ackIds: args[1] as string[] },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(AcknowledgeResponseSchema, response));
        const acked = (args[1] as string[]).length - response.invalidAckIds.length;
        printLine(`acknowledged ${acked}`);
        for (const id of response.invalidAckIds) printLine(`invalid (lease lost or unknown): ${id}`);
      }),
    );

  program
    .command("nack")
    .description("release deliveries by ack id for redelivery (counts as a failed attempt)")
    .argument("<subscription>", "subscription name")
    .argument("<ack-ids...>", "ack ids")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.subscriber.modifyAckDeadline(
          { subscription: args[0] as string, ackIds: args[1] as string[], ackDeadlineSeconds: 0 },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(ModifyAckDeadlineResponseSchema, response));
        const released = (args[1] as string[]).length - response.invalidAckIds.length;
        printLine(`released ${released}`);
        for (const id of response.invalidAckIds) printLine(`invalid (lease lost or unknown): ${id}`);
      }),
    );

  program
    .command("reject")
    .description("dead-letter deliveries by ack id at once (reason REJECTED): for poison messages")
    .argument("<subscription>", "subscription name")
    .argument("<ack-ids...>", "ack ids")
    .option("--reason <text>", "why (stored as the dead letter's last error)", "")
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const ackIds = args[1] as string[];
        const { reason } = command.opts<{ reason: string }>();
        const response = await conn.subscriber.reject(
          { subscription: args[0] as string, ackIds, reason },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(RejectResponseSchema, response));
        printLine(`rejected ${ackIds.length - response.invalidAckIds.length}`);
        for (const id of response.invalidAckIds) printLine(`invalid (lease lost or unknown): ${id}`);
      }),
    );
}
