import { DomainError } from "./domain-error.js";
import type { DeliveryType } from "./subscription.js";

/**
 * Exactly-once delivery, Pub/Sub's semantics over Herald's fenced leases. Every delivery carries a
 * lease token in its ack id, and every ack or deadline change is a write that matches the row's
 * current token; so once a consumer is told "acked" the row is settled and no later claim can
 * lease it again, and an ack id whose lease was lost (expired and redelivered, nacked, acked) is
 * reported instead of silently ignored. What exactly-once adds is that reporting: per-ack-id
 * confirmations on StreamingPull and Pub/Sub's per-ack-id error info on unary Acknowledge and
 * ModifyAckDeadline. Push has no ack ids to confirm, so Pub/Sub refuses the combination; so does
 * Herald.
 */
export const EXACTLY_ONCE_FIELD = "enable_exactly_once_delivery";

/** INVALID_ARGUMENT naming the field when exactly-once is asked of a push subscription. */
export function validateExactlyOnceDelivery(deliveryType: DeliveryType, isEnabled: boolean): void {
  if (isEnabled && deliveryType === "push") {
    throw DomainError.invalid(
      EXACTLY_ONCE_FIELD,
      "exactly-once delivery is not supported for push subscriptions",
    );
  }
}

/**
 * Pub/Sub's per-ack-id failure code (a google.rpc.ErrorInfo metadata value) for an ack id that is
 * invalid for good: the official clients reject the ack's promise with it and do not retry.
 */
export const INVALID_ACK_ID_CODE = "PERMANENT_FAILURE_INVALID_ACK_ID";

/** The ErrorInfo reason Pub/Sub uses for per-ack-id failures of an exactly-once subscription. */
export const EXACTLY_ONCE_FAILURE_REASON = "EXACTLY_ONCE_ACKID_FAILURE";

/**
 * The ack ids of one call split by outcome, in request order, each id once: an id listed as
 * invalid is invalid even when it also appears again in the call.
 */
export function splitAckResults(
  ackIds: readonly string[],
  invalidAckIds: readonly string[],
): { confirmed: string[]; invalid: string[] } {
  const invalidSet = new Set(invalidAckIds);
  const confirmed: string[] = [];
  const invalid: string[] = [];
  for (const id of new Set(ackIds)) (invalidSet.has(id) ? invalid : confirmed).push(id);
  return { confirmed, invalid };
}
