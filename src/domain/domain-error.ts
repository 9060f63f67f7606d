/**
 * The closed set of error kinds the domain and use cases raise. Transport maps each kind to
 * exactly one gRPC code in one table (src/transport/error-mapping.ts).
 */
export type DomainErrorKind =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "permission_denied"
  | "unauthenticated"
  | "resource_exhausted"
  | "unavailable"
  | "unimplemented"
  | "internal";

/**
 * A business-rule violation with a stable `reason` (e.g. `PUBLISHER_INACTIVE`, or
 * `TOPIC_NOT_FOUND`) that clients may branch on, and optionally the request field at fault.
 */
export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly kind: DomainErrorKind,
    readonly reason: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  /** Bad input: the message names the field so the caller can fix the request. */
  static invalid(field: string, message: string): DomainError {
    return new DomainError("invalid_argument", "INVALID_ARGUMENT", `${field}: ${message}`, field);
  }

  static notFound(what: string, key: string): DomainError {
    return new DomainError(
      "not_found",
      `${what.toUpperCase().replaceAll(" ", "_")}_NOT_FOUND`,
      `${what} "${echo(key)}" not found`,
    );
  }

  static alreadyExists(what: string, key: string): DomainError {
    return new DomainError(
      "already_exists",
      `${what.toUpperCase()}_ALREADY_EXISTS`,
      `${what} "${echo(key)}" already exists`,
    );
  }

  static precondition(reason: string, message: string): DomainError {
    return new DomainError("failed_precondition", reason, message);
  }
}

/**
 * What a client sent, as quoted back in an error: at most 128 characters, so a huge value can
 * neither bloat the message nor push a gRPC trailer past HTTP/2 header limits.
 */
function echo(value: string): string {
  return value.length <= 128 ? value : `${value.slice(0, 128)}…`;
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
