import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../../gen/herald/v1/errors_pb.js";
import { describeFailure, ExitError, grpcCodeName, UsageError } from "./exit-codes.js";

describe("exit codes and error lines", () => {
  it.each([
    [Code.NotFound, "NOT_FOUND"],
    [Code.DeadlineExceeded, "DEADLINE_EXCEEDED"],
    [Code.PermissionDenied, "PERMISSION_DENIED"],
    [Code.Unauthenticated, "UNAUTHENTICATED"],
    [Code.ResourceExhausted, "RESOURCE_EXHAUSTED"],
  ])("names gRPC code %d %s", (code, name) => {
    expect(grpcCodeName(code)).toBe(name);
  });

  it("exits with 10 + the gRPC code and names the ErrorDetail's reason and field", () => {
    const error = new ConnectError("ack_deadline_seconds must be 10..600", Code.InvalidArgument, undefined, [
      {
        desc: ErrorDetailSchema,
        value: create(ErrorDetailSchema, { reason: "OUT_OF_RANGE", field: "ack_deadline_seconds" }),
      },
    ]);
    expect(describeFailure(error)).toEqual({
      exitCode: 13,
      line: "INVALID_ARGUMENT: ack_deadline_seconds must be 10..600 (reason OUT_OF_RANGE, field ack_deadline_seconds)",
    });
  });

  it("leaves out a reason that only repeats the code, and keeps multi-line messages on one line", () => {
    const error = new ConnectError("bad\nthing", Code.InvalidArgument, undefined, [
      {
        desc: ErrorDetailSchema,
        value: create(ErrorDetailSchema, { reason: "INVALID_ARGUMENT", field: "" }),
      },
    ]);
    expect(describeFailure(error)).toEqual({ exitCode: 13, line: "INVALID_ARGUMENT: bad thing" });
  });

  it("exits 2 for usage errors, 0 after help, and 1 for anything else", () => {
    expect(describeFailure(new UsageError("give --data"))).toEqual({ exitCode: 2, line: "give --data" });
    expect(describeFailure(new CommanderError(1, "commander.unknownOption", "x"))).toEqual({
      exitCode: 2,
      line: undefined,
    });
    expect(describeFailure(new CommanderError(0, "commander.helpDisplayed", "x")).exitCode).toBe(0);
    expect(describeFailure(new CommanderError(0, "commander.help", "(help dlq)")).exitCode).toBe(0);
    expect(describeFailure(new CommanderError(1, "commander.help", "(herald dlq)")).exitCode).toBe(2);
    expect(describeFailure(new ExitError("server is NOT_SERVING", 3))).toEqual({
      exitCode: 3,
      line: "server is NOT_SERVING",
    });
    expect(describeFailure(new Error("boom"))).toEqual({ exitCode: 1, line: "boom" });
  });
});
