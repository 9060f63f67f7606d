import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { ErrorDetailSchema } from "../../gen/herald/v1/errors_pb.js";

/** Awaits `call`, expects it to fail with `code`, and (when given) an ErrorDetail naming `field`. */
export async function expectCode(call: Promise<unknown>, code: Code, field?: string): Promise<ConnectError> {
  let caught: unknown;
  try {
    await call;
  } catch (err) {
    caught = err;
  }
  expect(caught, "the call should have failed").toBeDefined();
  const error = ConnectError.from(caught);
  expect(Code[error.code], error.message).toBe(Code[code]);
  if (field !== undefined) {
    const [detail] = error.findDetails(ErrorDetailSchema);
    expect(detail?.field, error.message).toBe(field);
  }
  return error;
}
