/** `herald subscribers list|get|create|update|delete|rotate-key|rotate-secret`. */
import type { Duration } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import {
  CreateSubscriberResponseSchema,
  DeleteSubscriberResponseSchema,
  GetSubscriberResponseSchema,
  ListSubscribersResponseSchema,
  RotateSubscriberKeyResponseSchema,
  RotateSubscriberSecretResponseSchema,
  UpdateSubscriberResponseSchema,
} from "../../../gen/herald/v1/admin_service_pb.js";
import { type Subscriber, SubscriberSchema } from "../../../gen/herald/v1/resources_pb.js";
import { withConnection } from "../cli-context.js";
import { messageJson, printFields, printJson, printLine, printNextPageHint, printTable } from "../output.js";
import { parseBoolean, parseDuration, parseId } from "../parse-values.js";
import { formatTime, pageOptions } from "./common.js";

function printSubscriber(subscriber: Subscriber | undefined): void {
  if (subscriber) printFields(messageJson(SubscriberSchema, subscriber));
}

const OVERLAP_HELP = "how long the previous one stays valid (default 24h, at most 7d)";

export function registerSubscriberCommands(program: Command): void {
  const subscribers = program
    .command("subscribers")
    .description("consumers (per client), their webhook, API keys and signing secrets");

  pageOptions(subscribers.command("list").description("list subscribers"))
    .option("--client-id <id>", "only this client's subscribers", parseId)
    .action(
      withConnection(async ({ conn, isJson, command }) => {
        const o = command.opts<{ pageSize?: number; pageToken?: string; clientId?: bigint }>();
        const response = await conn.admin.listSubscribers(
          { pageSize: o.pageSize, pageToken: o.pageToken, clientId: o.clientId },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(ListSubscribersResponseSchema, response));
        printTable(response.subscribers, [
          ["ID", (s) => String(s.id)],
          ["CLIENT", (s) => String(s.clientId)],
          ["NAME", (s) => s.name],
          ["ACTIVE", (s) => String(s.isActive)],
          ["CREATED", (s) => formatTime(s.createTime)],
          ["WEBHOOK", (s) => s.webhookUrl],
        ]);
        printNextPageHint(response.nextPageToken);
      }),
    );

  subscribers
    .command("get")
    .description("show one subscriber")
    .argument("<id>", "subscriber id", parseId)
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.getSubscriber({ id: args[0] as bigint }, conn.unary);
        if (isJson) return printJson(messageJson(GetSubscriberResponseSchema, response));
        printSubscriber(response.subscriber);
      }),
    );

  subscribers
    .command("create")
    .description("register a subscriber; prints its API key and webhook signing secret once")
    .requiredOption("--client-id <id>", "the client (tenant) it belongs to", parseId)
    .requiredOption("--name <name>", "display name")
    .option("--webhook-url <url>", "default endpoint of its PUSH subscriptions", "")
    .action(
      withConnection(async ({ conn, isJson, command }) => {
        const o = command.opts<{ clientId: bigint; name: string; webhookUrl: string }>();
        const response = await conn.admin.createSubscriber(
          { clientId: o.clientId, name: o.name, webhookUrl: o.webhookUrl },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(CreateSubscriberResponseSchema, response));
        printSubscriber(response.subscriber);
        printLine(`API key (shown once, store it now): ${response.apiKey}`);
        printLine(`signing secret (shown once, store it now): ${response.signingSecret}`);
      }),
    );

  subscribers
    .command("update")
    .description("change a subscriber's name, webhook or state")
    .argument("<id>", "subscriber id", parseId)
    .option("--name <name>", "display name")
    .option("--webhook-url <url>", "default endpoint of its PUSH subscriptions")
    .option("--active <bool>", "true to activate, false to deactivate", parseBoolean)
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const o = command.opts<{ name?: string; webhookUrl?: string; active?: boolean }>();
        const response = await conn.admin.updateSubscriber(
          {
            id: args[0] as bigint,
            ...(o.name !== undefined ? { name: o.name } : {}),
            ...(o.webhookUrl !== undefined ? { webhookUrl: o.webhookUrl } : {}),
            ...(o.active !== undefined ? { isActive: o.active } : {}),
          },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(UpdateSubscriberResponseSchema, response));
        printSubscriber(response.subscriber);
      }),
    );

  subscribers
    .command("delete")
    .description("delete a subscriber with no subscriptions")
    .argument("<id>", "subscriber id", parseId)
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.deleteSubscriber({ id: args[0] as bigint }, conn.unary);
        if (isJson) return printJson(messageJson(DeleteSubscriberResponseSchema, response));
        printLine(`deleted subscriber ${args[0]}`);
      }),
    );

  subscribers
    .command("rotate-key")
    .description("issue a new API key; the previous keys stay valid for the overlap")
    .argument("<id>", "subscriber id", parseId)
    .option("--overlap <duration>", `${OVERLAP_HELP}; 0 revokes now`, parseDuration)
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const { overlap } = command.opts<{ overlap?: Duration }>();
        const response = await conn.admin.rotateSubscriberKey(
          { id: args[0] as bigint, ...(overlap ? { overlap } : {}) },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(RotateSubscriberKeyResponseSchema, response));
        printLine(`API key (shown once, store it now): ${response.apiKey}`);
        printLine(`previous keys expire: ${formatTime(response.previousKeyExpireTime) || "now"}`);
      }),
    );

  subscribers
    .command("rotate-secret")
    .description("issue a new webhook signing secret; both sign during the overlap")
    .argument("<id>", "subscriber id", parseId)
    .option("--overlap <duration>", OVERLAP_HELP, parseDuration)
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const { overlap } = command.opts<{ overlap?: Duration }>();
        const response = await conn.admin.rotateSubscriberSecret(
          { id: args[0] as bigint, ...(overlap ? { overlap } : {}) },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(RotateSubscriberSecretResponseSchema, response));
        printLine(`signing secret (shown once, store it now): ${response.signingSecret}`);
        printLine(`previous secret stops signing: ${formatTime(response.previousSecretExpireTime) || "now"}`);
      }),
    );
}
