/** `herald subscriptions list|get|create|update|delete|pause|resume|seek` (to a time or a snapshot). */
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { type Command, Option } from "commander";
import {
  CreateSubscriptionResponseSchema,
  DeleteSubscriptionResponseSchema,
  GetSubscriptionResponseSchema,
  ListSubscriptionsResponseSchema,
  PauseSubscriptionResponseSchema,
  ResumeSubscriptionResponseSchema,
  SeekSubscriptionResponseSchema,
  UpdateSubscriptionResponseSchema,
} from "../../../gen/herald/v1/admin_service_pb.js";
import { DeliveryType, type Subscription, SubscriptionSchema } from "../../../gen/herald/v1/resources_pb.js";
import { withConnection } from "../cli-context.js";
import { UsageError } from "../exit-codes.js";
import { messageJson, printFields, printJson, printLine, printNextPageHint, printTable } from "../output.js";
import { integerIn, parseBoolean, parseDuration, parseId, parseInstant } from "../parse-values.js";
import { pageOptions } from "./common.js";

function printSubscription(subscription: Subscription | undefined, extra: Record<string, string> = {}): void {
  if (subscription) printFields({ ...messageJson(SubscriptionSchema, subscription), ...extra });
}

export function deliveryTypeName(type: DeliveryType): string {
  return type === DeliveryType.PUSH ? "push" : "pull";
}

/** Settings that create and update share; on update each one is changed only when given. */
interface SettingOptions {
  identifier?: string;
  pushEndpoint?: string;
  ackDeadline?: number;
  maxDeliveryAttempts?: number;
  minBackoff?: Duration;
  maxBackoff?: Duration;
  messageTtl?: Duration;
  ordering?: boolean;
  filter?: string;
  deadLetterTopic?: string;
  retainAcked?: boolean;
  exactlyOnce?: boolean;
  retrySchedule?: Duration[];
  pushRateLimit?: number;
}

function settingOptions(command: Command): Command {
  return command
    .option("--identifier <glob>", 'identifier filter: exact, or a glob such as "order-*" (empty or * = all)')
    .option("--push-endpoint <url>", "PUSH endpoint, overriding the subscriber's webhook")
    .option("--ack-deadline <seconds>", "lease length, 10..600 (default 30)", integerIn(10, 600))
    .option(
      "--max-delivery-attempts <n>",
      "attempts before dead-lettering, 1..100 (default 5)",
      integerIn(1, 100),
    )
    .option("--min-backoff <duration>", "first retry delay (default 10s)", parseDuration)
    .option("--max-backoff <duration>", "longest retry delay (default 10m, at most 1h)", parseDuration)
    .option(
      "--message-ttl <duration>",
      "how long a message may wait before it is dead-lettered (default 24h)",
      parseDuration,
    )
    .option("--ordering <bool>", "deliver messages with the same ordering key in order", parseBoolean)
    .option("--filter <expression>", 'Pub/Sub attribute filter, e.g. attributes.region = "eu"')
    .option("--dead-letter-topic <topic>", 'topic dead letters are also published to ("" for none)')
    .option(
      "--retain-acked <bool>",
      "keep acked messages for the message TTL, so seek can replay them",
      parseBoolean,
    )
    .option(
      "--exactly-once <bool>",
      "exactly-once delivery: acks are confirmed per ack id (PULL only)",
      parseBoolean,
    )
    .option(
      "--retry-schedule <durations>",
      "delays before each retry, comma-separated (e.g. 0s,5s,5m,30m); replaces exponential backoff",
      (value: string) => value.split(",").map((d) => parseDuration(d.trim())),
    )
    .option(
      "--push-rate-limit <n>",
      "most push requests per second, across every instance, 0..10000 (0 = no limit)",
      integerIn(0, 10_000),
    );
}

function settings(o: SettingOptions) {
  return {
    ...(o.identifier !== undefined ? { identifier: o.identifier } : {}),
    ...(o.pushEndpoint !== undefined ? { pushEndpoint: o.pushEndpoint } : {}),
    ...(o.ackDeadline !== undefined ? { ackDeadlineSeconds: o.ackDeadline } : {}),
    ...(o.maxDeliveryAttempts !== undefined ? { maxDeliveryAttempts: o.maxDeliveryAttempts } : {}),
    ...(o.minBackoff !== undefined ? { minBackoff: o.minBackoff } : {}),
    ...(o.maxBackoff !== undefined ? { maxBackoff: o.maxBackoff } : {}),
    ...(o.messageTtl !== undefined ? { messageTtl: o.messageTtl } : {}),
    ...(o.ordering !== undefined ? { enableOrdering: o.ordering } : {}),
    ...(o.filter !== undefined ? { filter: o.filter } : {}),
    ...(o.deadLetterTopic !== undefined ? { deadLetterTopic: o.deadLetterTopic } : {}),
    ...(o.retainAcked !== undefined ? { retainAckedMessages: o.retainAcked } : {}),
    ...(o.exactlyOnce !== undefined ? { enableExactlyOnceDelivery: o.exactlyOnce } : {}),
    ...(o.retrySchedule !== undefined ? { retrySchedule: o.retrySchedule } : {}),
    ...(o.pushRateLimit !== undefined ? { pushRateLimitPerSecond: o.pushRateLimit } : {}),
  };
}

export function registerSubscriptionCommands(program: Command): void {
  const subscriptions = program
    .command("subscriptions")
    .description("routes from a topic to a subscriber, PUSH (webhook) or PULL");

  pageOptions(subscriptions.command("list").description("list subscriptions"))
    .option("--topic <code>", "only this topic's subscriptions")
    .option("--subscriber-id <id>", "only this subscriber's subscriptions", parseId)
    .option("--show-deleted", "include deleted subscriptions")
    .action(
      withConnection(async ({ conn, isJson, command }) => {
        const o = command.opts<{
          pageSize?: number;
          pageToken?: string;
          topic?: string;
          subscriberId?: bigint;
          showDeleted?: boolean;
        }>();
        const response = await conn.admin.listSubscriptions(
          {
            pageSize: o.pageSize,
            pageToken: o.pageToken,
            topic: o.topic,
            subscriberId: o.subscriberId,
            showDeleted: o.showDeleted === true,
          },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(ListSubscriptionsResponseSchema, response));
        printTable(response.subscriptions, [
          ["NAME", (s) => s.name],
          ["TOPIC", (s) => s.topic],
          ["SUBSCRIBER", (s) => String(s.subscriberId)],
          ["TYPE", (s) => deliveryTypeName(s.deliveryType)],
          ["STATE", (s) => (!s.isActive ? "deleted" : s.pauseTime ? "paused" : "active")],
          ["IDENTIFIER", (s) => s.identifier],
          ["CALLBACK", (s) => s.callbackUrl],
        ]);
        printNextPageHint(response.nextPageToken);
      }),
    );

  subscriptions
    .command("get")
    .description("show one subscription with its delivered-message count")
    .argument("<name>", "subscription name")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.getSubscription({ name: args[0] as string }, conn.unary);
        if (isJson) return printJson(messageJson(GetSubscriptionResponseSchema, response));
        printSubscription(response.subscription, { messageCount: String(response.messageCount) });
      }),
    );

  settingOptions(
    subscriptions
      .command("create")
      .description("create a subscription")
      .argument("<name>", "unique name: letters, digits, '.', '_' and '-'")
      .requiredOption("--topic <code>", "topic code")
      .requiredOption("--subscriber-id <id>", "subscriber id", parseId)
      .addOption(new Option("--type <type>", "delivery type").choices(["push", "pull"]).default("pull")),
  ).action(
    withConnection(async ({ conn, isJson, args, command }) => {
      const o = command.opts<
        SettingOptions & { topic: string; subscriberId: bigint; type: "push" | "pull" }
      >();
      const response = await conn.admin.createSubscription(
        {
          name: args[0] as string,
          topic: o.topic,
          subscriberId: o.subscriberId,
          deliveryType: o.type === "push" ? DeliveryType.PUSH : DeliveryType.PULL,
          ...settings(o),
        },
        conn.unary,
      );
      if (isJson) return printJson(messageJson(CreateSubscriptionResponseSchema, response));
      printSubscription(response.subscription);
    }),
  );

  settingOptions(
    subscriptions
      .command("update")
      .description("change a subscription's settings (only the options given)")
      .argument("<name>", "subscription name"),
  ).action(
    withConnection(async ({ conn, isJson, args, command }) => {
      const o = command.opts<SettingOptions>();
      const response = await conn.admin.updateSubscription(
        { name: args[0] as string, ...settings(o) },
        conn.unary,
      );
      if (isJson) return printJson(messageJson(UpdateSubscriptionResponseSchema, response));
      printSubscription(response.subscription);
    }),
  );

  subscriptions
    .command("delete")
    .description("soft-delete: stops receiving new messages, keeps its history")
    .argument("<name>", "subscription name")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.deleteSubscription({ name: args[0] as string }, conn.unary);
        if (isJson) return printJson(messageJson(DeleteSubscriptionResponseSchema, response));
        printLine(`deleted subscription "${args[0]}"`);
      }),
    );

  subscriptions
    .command("pause")
    .description("stop push delivery of a PUSH subscription; messages keep queueing")
    .argument("<name>", "subscription name")
    .option("--reason <text>", "shown while paused", "paused from the herald CLI")
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const { reason } = command.opts<{ reason: string }>();
        const response = await conn.admin.pauseSubscription({ name: args[0] as string, reason }, conn.unary);
        if (isJson) return printJson(messageJson(PauseSubscriptionResponseSchema, response));
        printLine(`paused subscription "${args[0]}"`);
      }),
    );

  subscriptions
    .command("resume")
    .description("resume push delivery; the backlog is delivered")
    .argument("<name>", "subscription name")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.resumeSubscription({ name: args[0] as string }, conn.unary);
        if (isJson) return printJson(messageJson(ResumeSubscriptionResponseSchema, response));
        printLine(`resumed subscription "${args[0]}"`);
      }),
    );

  subscriptions
    .command("seek")
    .description(
      "seek to a time (earlier messages acked, later ones unacked if retained) or to a snapshot (its acked state)",
    )
    .argument("<name>", "subscription name")
    .option("--time <time>", "RFC 3339, or a duration ago (1h); a future time skips the backlog", (v) =>
      parseInstant(v),
    )
    .option("--snapshot <name>", "a snapshot of the subscription's topic (herald snapshots create)")
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const { time, snapshot } = command.opts<{ time?: Timestamp; snapshot?: string }>();
        if ((time === undefined) === (snapshot === undefined)) {
          throw new UsageError("give exactly one of --time and --snapshot");
        }
        const response = await conn.admin.seekSubscription(
          { name: args[0] as string, ...(time !== undefined ? { time } : { snapshot }) },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(SeekSubscriptionResponseSchema, response));
        printLine(
          `acked ${response.ackedCount}, requeued ${response.requeuedCount}, replayed ${response.replayedCount}`,
        );
      }),
    );
}
