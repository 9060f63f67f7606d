import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/herald/v1/errors_pb.js";
import { type DomainErrorKind, isDomainError } from "../domain/domain-error.js";

/** The one table from domain error kinds to gRPC codes; the compiler checks it is complete. */
export const GRPC_CODE_BY_KIND: Readonly<Record<DomainErrorKind, Code>> = Object.freeze({
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  permission_denied: Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
});

/** Where unexpected errors are reported; their details never reach the client. */
export type InternalErrorReporter = (error: unknown, procedure: string) => void;

/** Decides whether an unexpected error means the database is unreachable (answered UNAVAILABLE). */
export type UnavailableClassifier = (error: unknown) => boolean;

/**
 * Turns anything a handler throws into a ConnectError a client may see: domain errors keep their
 * message and carry an ErrorDetail (reason, field); connect's own errors pass through; a database
 * that cannot be reached is UNAVAILABLE (clients retry; with a dedup_id a Publish retry is safe);
 * anything else becomes INTERNAL with a generic message, and the cause goes to the log only.
 */
export function toConnectError(
  error: unknown,
  procedure: string,
  report: InternalErrorReporter,
  isUnavailable: UnavailableClassifier = () => false,
): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isDomainError(error)) {
    return new ConnectError(error.message, GRPC_CODE_BY_KIND[error.kind], undefined, [
      { desc: ErrorDetailSchema, value: { reason: error.reason, field: error.field ?? "" } },
    ]);
  }
  if (isUnavailable(error)) {
    report(error, procedure);
    return new ConnectError("the database is unavailable; retry later", Code.Unavailable, undefined, [
      { desc: ErrorDetailSchema, value: { reason: "DATABASE_UNAVAILABLE", field: "" } },
    ]);
  }
  report(error, procedure);
  return new ConnectError("internal error", Code.Internal, undefined, [
    { desc: ErrorDetailSchema, value: { reason: "INTERNAL", field: "" } },
  ]);
}

async function* mapStreamErrors<T>(
  stream: AsyncIterable<T>,
  map: (error: unknown) => ConnectError,
): AsyncGenerator<T> {
  try {
    yield* stream;
  } catch (error) {
    throw map(error);
  }
}

/** Server interceptor applying `toConnectError` to unary results and to server streams. */
export function errorMappingInterceptor(
  report: InternalErrorReporter,
  isUnavailable: UnavailableClassifier = () => false,
): Interceptor {
  return (next) => async (request) => {
    const map = (error: unknown) => toConnectError(error, request.url, report, isUnavailable);
    try {
      const response = await next(request);
      if (response.stream) return { ...response, message: mapStreamErrors(response.message, map) };
      return response;
    } catch (error) {
      throw map(error);
    }
  };
}
