import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { confirmUnary, MAX_LISTED_ACK_IDS, streamConfirmation } from "./ack-confirmations.js";

function thrownBy(fn: () => void): ConnectError | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return ConnectError.from(error);
  }
}

describe("unary confirmations", () => {
  it("answers OK when every ack id was valid, or when exactly-once is off", () => {
    expect(thrownBy(() => confirmUnary(true, ["a"], { invalidAckIds: [], settled: [] }))).toBeUndefined();
    expect(thrownBy(() => confirmUnary(false, ["a"], { invalidAckIds: ["a"], settled: [] }))).toBeUndefined();
  });

  it("fails with INVALID_ARGUMENT and per-ack-id ErrorInfo when every ack id was invalid", () => {
    const error = thrownBy(() => confirmUnary(true, ["a", "b"], { invalidAckIds: ["a", "b"], settled: [] }));
    expect(error?.code).toBe(Code.InvalidArgument);
    const [info] = error?.findDetails(ErrorInfoSchema) ?? [];
    expect(info?.reason).toBe("EXACTLY_ONCE_ACKID_FAILURE");
    expect(info?.metadata).toEqual({
      a: "PERMANENT_FAILURE_INVALID_ACK_ID",
      b: "PERMANENT_FAILURE_INVALID_ACK_ID",
    });
  });

  it("fails with ABORTED listing only the invalid ids when others took effect", () => {
    const error = thrownBy(() => confirmUnary(true, ["a", "b"], { invalidAckIds: ["b"], settled: [] }));
    expect(error?.code).toBe(Code.Aborted);
    expect(error?.findDetails(ErrorInfoSchema)[0]?.metadata).toEqual({
      b: "PERMANENT_FAILURE_INVALID_ACK_ID",
    });
  });

  it("lists at most MAX_LISTED_ACK_IDS ids and answers ABORTED for the rest to be sent again", () => {
    const ids = Array.from({ length: MAX_LISTED_ACK_IDS + 5 }, (_, i) => `id-${i}`);
    const error = thrownBy(() => confirmUnary(true, ids, { invalidAckIds: ids, settled: [] }));
    expect(error?.code).toBe(Code.Aborted);
    expect(Object.keys(error?.findDetails(ErrorInfoSchema)[0]?.metadata ?? {})).toHaveLength(
      MAX_LISTED_ACK_IDS,
    );
  });
});

describe("stream confirmations", () => {
  const none = { ackIds: [], invalidAckIds: [], failed: false };

  it("confirms valid ids and lists invalid ones, for acks and deadline changes", () => {
    expect(
      streamConfirmation({
        acks: { ackIds: ["a", "x"], invalidAckIds: ["x"], failed: false },
        modifies: { ackIds: ["b"], invalidAckIds: [], failed: false },
      }),
    ).toEqual({
      acknowledgeConfirmation: { ackIds: ["a"], invalidAckIds: ["x"] },
      modifyAckDeadlineConfirmation: { ackIds: ["b"], invalidAckIds: [] },
    });
  });

  it("reports every id of a failed write as a temporary failure", () => {
    expect(
      streamConfirmation({ acks: { ackIds: ["a", "a"], invalidAckIds: [], failed: true }, modifies: none }),
    ).toEqual({ acknowledgeConfirmation: { temporaryFailedAckIds: ["a"] } });
  });

  it("sends nothing for a request without acks or deadline changes", () => {
    expect(streamConfirmation({ acks: none, modifies: none })).toBeUndefined();
  });
});
