/** `herald topics list|get|create|update|delete`. */
import type { Command } from "commander";
import {
  CreateTopicResponseSchema,
  DeleteTopicResponseSchema,
  GetTopicResponseSchema,
  ListTopicsResponseSchema,
  UpdateTopicResponseSchema,
} from "../../../gen/herald/v1/admin_service_pb.js";
import { type Topic, TopicSchema } from "../../../gen/herald/v1/resources_pb.js";
import { withConnection } from "../cli-context.js";
import { messageJson, printFields, printJson, printLine, printNextPageHint, printTable } from "../output.js";
import { parseBoolean } from "../parse-values.js";
import { formatTime, pageOptions } from "./common.js";

function printTopic(topic: Topic | undefined): void {
  if (topic) printFields(messageJson(TopicSchema, topic));
}

export function registerTopicCommands(program: Command): void {
  const topics = program.command("topics").description("channels messages are published to");

  pageOptions(topics.command("list").description("list topics")).action(
    withConnection(async ({ conn, isJson, command }) => {
      const { pageSize, pageToken } = command.opts<{ pageSize?: number; pageToken?: string }>();
      const response = await conn.admin.listTopics({ pageSize, pageToken }, conn.unary);
      if (isJson) return printJson(messageJson(ListTopicsResponseSchema, response));
      printTable(response.topics, [
        ["CODE", (t) => t.code],
        ["NAME", (t) => t.name],
        ["ACTIVE", (t) => String(t.isActive)],
        ["CREATED", (t) => formatTime(t.createTime)],
        ["DESCRIPTION", (t) => t.description],
      ]);
      printNextPageHint(response.nextPageToken);
    }),
  );

  topics
    .command("get")
    .description("show one topic")
    .argument("<code>", "topic code")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.getTopic({ code: args[0] as string }, conn.unary);
        if (isJson) return printJson(messageJson(GetTopicResponseSchema, response));
        printTopic(response.topic);
      }),
    );

  topics
    .command("create")
    .description("create a topic")
    .argument("<code>", "dot-separated code, e.g. user.signup")
    .requiredOption("--name <name>", "display name")
    .option("--description <text>", "description", "")
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const o = command.opts<{ name: string; description: string }>();
        const response = await conn.admin.createTopic(
          { code: args[0] as string, name: o.name, description: o.description },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(CreateTopicResponseSchema, response));
        printTopic(response.topic);
      }),
    );

  topics
    .command("update")
    .description("change a topic's name, description or state")
    .argument("<code>", "topic code")
    .option("--name <name>", "display name")
    .option("--description <text>", "description")
    .option("--active <bool>", "true to activate, false to deactivate", parseBoolean)
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const o = command.opts<{ name?: string; description?: string; active?: boolean }>();
        const response = await conn.admin.updateTopic(
          {
            code: args[0] as string,
            ...(o.name !== undefined ? { name: o.name } : {}),
            ...(o.description !== undefined ? { description: o.description } : {}),
            ...(o.active !== undefined ? { isActive: o.active } : {}),
          },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(UpdateTopicResponseSchema, response));
        printTopic(response.topic);
      }),
    );

  topics
    .command("delete")
    .description("delete a topic with no messages and no subscriptions")
    .argument("<code>", "topic code")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.deleteTopic({ code: args[0] as string }, conn.unary);
        if (isJson) return printJson(messageJson(DeleteTopicResponseSchema, response));
        printLine(`deleted topic "${args[0]}"`);
      }),
    );
}
