import { DomainError } from "./domain-error.js";
import { requireMaxBytes, requireNonEmpty, requirePrintable } from "./text-limits.js";

/** A registered service allowed to publish. Only active publishers can publish. */
export interface Publisher {
  id: bigint;
  /** Unique code such as "user-service". */
  code: string;
  name: string;
  description: string;
  isActive: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

/** Fields an admin supplies when registering a publisher (active on creation). */
export interface NewPublisher {
  code: string;
  name: string;
  description: string;
}

const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Validates a publisher code: 1..128 bytes of letters, digits, '.', '_' and '-', starting alphanumeric. */
export function validatePublisherCode(field: string, code: string): void {
  requireNonEmpty(field, code);
  requireMaxBytes(field, code, 128);
  if (!CODE_PATTERN.test(code)) {
    throw DomainError.invalid(
      field,
      "must be letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  }
}

/** Validates a display name (required) and description (optional); both bounded and printable. */
export function validateNameAndDescription(name: string, description: string): void {
  requireNonEmpty("name", name);
  requireMaxBytes("name", name, 255);
  requirePrintable("name", name);
  requireMaxBytes("description", description, 4096);
  if (!description.isWellFormed()) throw DomainError.invalid("description", "must be valid UTF-8");
}

/** Checks that the publisher is active: only active publishers publish. */
export function assertPublisherCanPublish(publisher: Publisher): void {
  if (!publisher.isActive) {
    throw DomainError.precondition("PUBLISHER_INACTIVE", `publisher "${publisher.code}" is inactive`);
  }
}
