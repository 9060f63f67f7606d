/**
 * The ack-deadline rule (Pub/Sub's): a subscription's or a stream's deadline is 10..600 seconds;
 * a lease extension (ModifyAckDeadline) may be 0, a nack, up to the same maximum.
 */
import { DomainError } from "./domain-error.js";

export const ACK_DEADLINE_SECONDS = Object.freeze({ default: 30, min: 10, max: 600 });

/** A deadline that sets how long leases last: an integer from `min` to `max` seconds. */
export function validateAckDeadline(field: string, seconds: number): void {
  const { min, max } = ACK_DEADLINE_SECONDS;
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) {
    throw DomainError.invalid(field, `must be between ${min} and ${max}`);
  }
}

/** A new deadline for leases already held: 0 (nack: retry after the backoff) up to `max` seconds. */
export function validateAckDeadlineExtension(field: string, seconds: number): void {
  const { max } = ACK_DEADLINE_SECONDS;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > max) {
    throw DomainError.invalid(field, `must be between 0 and ${max}`);
  }
}
