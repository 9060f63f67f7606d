/**
 * Entry point of `herald` (bin/herald.js). Errors end as one line on stderr and an exit code from
 * exit-codes.ts; `serve` and `migrate` keep their own messages and exit 1 on a failed start.
 */
import { describeFailure } from "./exit-codes.js";
import { buildProgram } from "./program.js";

async function runServer(command: "serve" | "migrate"): Promise<void> {
  const server = await import("./server-commands.js");
  try {
    await (command === "serve" ? server.serve() : server.migrate());
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      error instanceof server.ConfigError ? `herald: ${message}\n` : `herald: failed to start: ${message}\n`,
    );
    process.exit(1);
  }
}

// `herald tail | head`: a closed stdout ends the command quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const program = buildProgram(runServer);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  const { exitCode, line } = describeFailure(error);
  if (line !== undefined) process.stderr.write(`herald: ${line}\n`);
  process.exit(exitCode);
}
