/**
 * What `herald` exits with, and the one line it prints on failure. Scripts branch on the exit code:
 *
 * | code    | meaning                                                                 |
 * |---------|-------------------------------------------------------------------------|
 * | 0       | success                                                                 |
 * | 1       | a local failure: an unreadable TLS file, stdin, an unexpected error     |
 * | 2       | usage: unknown command or option, a bad or missing argument             |
 * | 3       | `herald health`: the server answered, but not SERVING                  |
 * | 10 + n  | the server answered with gRPC code n (NOT_FOUND → 15, UNAVAILABLE → 24) |
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { CommanderError } from "commander";
import { ErrorDetailSchema } from "../../gen/herald/v1/errors_pb.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_NOT_SERVING = 3;
/** Added to the gRPC code of a server error. */
export const EXIT_GRPC_BASE = 10;

/** A mistake in how the command was called (exit 2), found after commander's own checks. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A failure that already has its exit code and message (e.g. health NOT_SERVING). */
export class ExitError extends Error {
  override readonly name = "ExitError";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** "NotFound" → "NOT_FOUND": the gRPC spelling admins know from grpcurl and the server's logs. */
export function grpcCodeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** The TLS failure behind a client-side error (untrusted certificate, certificate required), if any. */
function tlsProblem(error: ConnectError): string | undefined {
  let cause: unknown = error.cause;
  for (let depth = 0; cause instanceof Error && depth < 5; depth += 1) {
    const code = (cause as NodeJS.ErrnoException).code ?? "";
    if (/^ERR_SSL_|^ERR_TLS_|CERT|SELF_SIGNED/.test(code)) {
      // OpenSSL's messages carry a reason between colons ("…:tlsv13 alert certificate required:…").
      const reason = /SSL routines:[^:]*:([^:]+)/.exec(cause.message)?.[1];
      return reason ?? cause.message;
    }
    cause = cause.cause;
  }
  return undefined;
}

/** The exit code and the single stderr line (without "herald: ") for `error`; undefined line = print nothing. */
export function describeFailure(error: unknown): { exitCode: number; line: string | undefined } {
  if (error instanceof CommanderError) {
    // commander has already printed its message or the help. Asked-for help and --version exit 0
    // with it; help shown because a command is incomplete (`herald dlq`) is a usage error.
    return { exitCode: error.exitCode === 0 ? EXIT_OK : EXIT_USAGE, line: undefined };
  }
  if (error instanceof UsageError) return { exitCode: EXIT_USAGE, line: error.message };
  if (error instanceof ExitError) return { exitCode: error.exitCode, line: error.message };
  if (error instanceof ConnectError) {
    const tls = tlsProblem(error);
    if (tls !== undefined) {
      // connect reports a failed handshake as INTERNAL, but the server was never reached.
      return {
        exitCode: EXIT_GRPC_BASE + Code.Unavailable,
        line: `UNAVAILABLE: TLS handshake failed: ${tls} (check --server, --ca, --cert and --key)`,
      };
    }
    const [detail] = error.findDetails(ErrorDetailSchema);
    const extras: string[] = [];
    if (detail?.reason && detail.reason !== grpcCodeName(error.code)) extras.push(`reason ${detail.reason}`);
    if (detail?.field) extras.push(`field ${detail.field}`);
    const suffix = extras.length > 0 ? ` (${extras.join(", ")})` : "";
    const message = error.rawMessage.replace(/\s+/g, " ").trim();
    return {
      exitCode: EXIT_GRPC_BASE + error.code,
      line: `${grpcCodeName(error.code)}: ${message}${suffix}`,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT_FAILURE, line: message.replace(/\s+/g, " ").trim() };
}
