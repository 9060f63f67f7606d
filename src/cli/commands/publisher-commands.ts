/** `herald publishers list|get|create|update|delete|rotate-key`. */
import { type Command, Option } from "commander";
import {
  CreatePublisherResponseSchema,
  DeletePublisherResponseSchema,
  GetPublisherResponseSchema,
  ListPublishersResponseSchema,
  RotatePublisherKeyResponseSchema,
  UpdatePublisherResponseSchema,
} from "../../../gen/herald/v1/admin_service_pb.js";
import { type Publisher, PublisherSchema } from "../../../gen/herald/v1/resources_pb.js";
import { withConnection } from "../cli-context.js";
import {
  cell,
  messageJson,
  printFields,
  printJson,
  printLine,
  printNextPageHint,
  printTable,
} from "../output.js";
import { collect, parseBoolean, parseDuration } from "../parse-values.js";
import { formatTime, pageOptions } from "./common.js";

function printPublisher(publisher: Publisher | undefined): void {
  if (publisher) printFields(messageJson(PublisherSchema, publisher));
}

export function registerPublisherCommands(program: Command): void {
  const publishers = program
    .command("publishers")
    .description("services allowed to publish, and their API keys");

  pageOptions(publishers.command("list").description("list publishers")).action(
    withConnection(async ({ conn, isJson, command }) => {
      const { pageSize, pageToken } = command.opts<{ pageSize?: number; pageToken?: string }>();
      const response = await conn.admin.listPublishers({ pageSize, pageToken }, conn.unary);
      if (isJson) return printJson(messageJson(ListPublishersResponseSchema, response));
      printTable(response.publishers, [
        ["CODE", (p) => p.code],
        ["NAME", (p) => p.name],
        ["ACTIVE", (p) => String(p.isActive)],
        ["ALLOWED TOPICS", (p) => cell(p.allowedTopics)],
        ["CREATED", (p) => formatTime(p.createTime)],
      ]);
      printNextPageHint(response.nextPageToken);
    }),
  );

  publishers
    .command("get")
    .description("show one publisher")
    .argument("<code>", "publisher code")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.getPublisher({ code: args[0] as string }, conn.unary);
        if (isJson) return printJson(messageJson(GetPublisherResponseSchema, response));
        printPublisher(response.publisher);
      }),
    );

  publishers
    .command("create")
    .description("register a publisher; prints its API key once")
    .argument("<code>", "unique code, e.g. user-service")
    .requiredOption("--name <name>", "display name")
    .option("--description <text>", "description", "")
    .option(
      "--allowed-topic <topic>",
      "topic code it may publish to (repeatable; * for every topic)",
      collect,
      [],
    )
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const o = command.opts<{ name: string; description: string; allowedTopic: string[] }>();
        const response = await conn.admin.createPublisher(
          {
            code: args[0] as string,
            name: o.name,
            description: o.description,
            allowedTopics: o.allowedTopic,
          },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(CreatePublisherResponseSchema, response));
        printPublisher(response.publisher);
        printLine(`API key (shown once, store it now): ${response.apiKey}`);
      }),
    );

  publishers
    .command("update")
    .description("change a publisher's name, description, state or allowed topics")
    .argument("<code>", "publisher code")
    .option("--name <name>", "display name")
    .option("--description <text>", "description")
    .option("--active <bool>", "true to activate, false to deactivate", parseBoolean)
    .option("--allowed-topic <topic>", "replaces the allowed topics (repeatable; * for every topic)", collect)
    .addOption(new Option("--no-allowed-topics", "revoke every allowed topic").conflicts("allowedTopic"))
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const o = command.opts<{
          name?: string;
          description?: string;
          active?: boolean;
          allowedTopic?: string[];
          allowedTopics?: boolean;
        }>();
        const allowedTopics =
          o.allowedTopic !== undefined ? o.allowedTopic : o.allowedTopics === false ? [] : undefined;
        const response = await conn.admin.updatePublisher(
          {
            code: args[0] as string,
            ...(o.name !== undefined ? { name: o.name } : {}),
            ...(o.description !== undefined ? { description: o.description } : {}),
            ...(o.active !== undefined ? { isActive: o.active } : {}),
            ...(allowedTopics !== undefined ? { allowedTopics: { topics: allowedTopics } } : {}),
          },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(UpdatePublisherResponseSchema, response));
        printPublisher(response.publisher);
      }),
    );

  publishers
    .command("delete")
    .description("delete a publisher that never published (deactivate it otherwise)")
    .argument("<code>", "publisher code")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const response = await conn.admin.deletePublisher({ code: args[0] as string }, conn.unary);
        if (isJson) return printJson(messageJson(DeletePublisherResponseSchema, response));
        printLine(`deleted publisher "${args[0]}"`);
      }),
    );

  publishers
    .command("rotate-key")
    .description("issue a new API key; the previous keys stay valid for the overlap")
    .argument("<code>", "publisher code")
    .option(
      "--overlap <duration>",
      "how long the previous keys stay valid (0 revokes now; default 24h)",
      parseDuration,
    )
    .action(
      withConnection(async ({ conn, isJson, args, command }) => {
        const { overlap } = command.opts<{ overlap?: ReturnType<typeof parseDuration> }>();
        const response = await conn.admin.rotatePublisherKey(
          { code: args[0] as string, ...(overlap ? { overlap } : {}) },
          conn.unary,
        );
        if (isJson) return printJson(messageJson(RotatePublisherKeyResponseSchema, response));
        printLine(`API key (shown once, store it now): ${response.apiKey}`);
        printLine(`previous keys expire: ${formatTime(response.previousKeyExpireTime) || "now"}`);
      }),
    );
}
