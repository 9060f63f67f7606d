/** What every client command's action gets: the connection built from the global options, and --json. */
import type { Command } from "commander";
import { connect, type HeraldConnection } from "./connection.js";

/** The options `herald` accepts before or after any subcommand (see program.ts). */
export interface GlobalOptions {
  server: string;
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
  json?: boolean;
  /** Seconds. */
  timeout: number;
}

export interface CliContext {
  conn: HeraldConnection;
  isJson: boolean;
  /** The command's declared arguments, parsed. */
  args: readonly unknown[];
  command: Command;
}

/**
 * Wraps a command action: connects with the global options, runs it, and always ends the HTTP/2
 * session (an open session would keep the process alive).
 */
export function withConnection(
  run: (ctx: CliContext) => Promise<void>,
): (...params: unknown[]) => Promise<void> {
  return async (...params) => {
    const command = params[params.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const conn = connect({
      server: globals.server,
      ...(globals.token !== undefined ? { token: globals.token } : {}),
      ...(globals.ca !== undefined ? { ca: globals.ca } : {}),
      ...(globals.cert !== undefined ? { cert: globals.cert } : {}),
      ...(globals.key !== undefined ? { key: globals.key } : {}),
      timeoutMs: globals.timeout * 1000,
    });
    try {
      await run({ conn, isJson: globals.json === true, args: command.processedArgs, command });
    } finally {
      conn.close();
    }
  };
}
