/**
 * The `herald` command tree. `serve` and `migrate` run the server; every other command is a client
 * of a running server through the generated connect clients (see connection.ts).
 */
import { Command, Option } from "commander";
import { HERALD_VERSION } from "../version.js";
import { registerCompletionCommand } from "./commands/completion-command.js";
import { registerConsumeCommands } from "./commands/consume-commands.js";
import { registerDeadLetterCommands } from "./commands/dlq-commands.js";
import { registerInspectionCommands } from "./commands/inspection-commands.js";
import { registerPublishCommand } from "./commands/publish-command.js";
import { registerPublisherCommands } from "./commands/publisher-commands.js";
import { registerSnapshotCommands } from "./commands/snapshot-commands.js";
import { registerStatusCommands } from "./commands/status-commands.js";
import { registerSubscriberCommands } from "./commands/subscriber-commands.js";
import { registerSubscriptionCommands } from "./commands/subscription-commands.js";
import { registerTopicCommands } from "./commands/topic-commands.js";
import { integerIn } from "./parse-values.js";

export const DEFAULT_SERVER = "http://127.0.0.1:8085";

const EXIT_CODES_HELP = `
Exit codes: 0 ok, 1 local failure, 2 usage error, 3 health not SERVING,
10 + gRPC code for server errors (15 NOT_FOUND, 17 PERMISSION_DENIED, 24 UNAVAILABLE,
26 UNAUTHENTICATED; see docs/cli.md).`;

/** Builds the program; `run` is called for serve and migrate (the server, loaded lazily by main.ts). */
export function buildProgram(runServer: (command: "serve" | "migrate") => Promise<void>): Command {
  const program = new Command("herald")
    .description("Herald pub/sub: run the server, or administer a running one")
    .version(HERALD_VERSION, "-V, --version")
    // Settings are copied to subcommands when they are created: set them before adding any.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`herald: ${text.replace(/^error: /, "")}`) })
    .showSuggestionAfterError(true)
    // The client's own settings, not the server's: src/config/config.ts reads the server's
    // environment; HERALD_SERVER and HERALD_TOKEN are read here, through commander's .env().
    .addOption(
      new Option("--server <url>", "Herald server; https:// for TLS")
        .env("HERALD_SERVER")
        .default(DEFAULT_SERVER),
    )
    .addOption(
      new Option("--token <token>", "admin token or API key, sent as a bearer token").env("HERALD_TOKEN"),
    )
    .option("--ca <file>", "PEM CA certificate to verify the server (default: system CAs)")
    .option("--cert <file>", "PEM client certificate, for mTLS")
    .option("--key <file>", "PEM client key, for mTLS")
    .option("--json", "print JSON (one document; JSON lines for pull and tail)")
    .option("--timeout <seconds>", "deadline of each call", integerIn(1, 3600), 30)
    .addHelpText("after", EXIT_CODES_HELP);

  program
    .command("serve", { isDefault: true })
    .description("run the server (configured by HERALD_* and DATABASE_URL; migrates first)")
    .action(() => runServer("serve"));
  program
    .command("migrate")
    .description("migrate the database and exit")
    .action(() => runServer("migrate"));

  registerPublisherCommands(program);
  registerTopicCommands(program);
  registerSubscriberCommands(program);
  registerSubscriptionCommands(program);
  registerSnapshotCommands(program);
  registerPublishCommand(program);
  registerConsumeCommands(program);
  registerDeadLetterCommands(program);
  registerStatusCommands(program);
  registerInspectionCommands(program);
  registerCompletionCommand(program);
  return program;
}
