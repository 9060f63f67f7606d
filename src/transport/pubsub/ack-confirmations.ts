import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { StreamingPullResponseSchema } from "../../../gen/google/pubsub/v1/pubsub_pb.js";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import type { AckOutcome } from "../../app/consume/delivery-service.js";
import {
  EXACTLY_ONCE_FAILURE_REASON,
  INVALID_ACK_ID_CODE,
  splitAckResults,
} from "../../domain/exactly-once.js";

type StreamingPullResponseInit = MessageInitShape<typeof StreamingPullResponseSchema>;

/** The ErrorInfo domain Pub/Sub names; clients read only reason and metadata. */
const PUBSUB_DOMAIN = "pubsub.googleapis.com";

/**
 * Most ack ids one error lists. The ErrorInfo travels in the grpc-status-details-bin trailer,
 * and HTTP/2 clients refuse header lists over 64 KiB by default (Node's maxHeaderListSize):
 * 300 entries of ~80 bytes stay near 32 KiB once base64-encoded. Ids beyond it go unlisted in an
 * ABORTED answer, so clients send them again and learn their outcome from the next answer.
 */
export const MAX_LISTED_ACK_IDS = 300;

const INVALID_ACK_IDS_MESSAGE =
  "Some acknowledgement ids in the request were invalid. This could be because the acknowledgement ids have expired or the acknowledgement ids were malformed.";

/**
 * Pub/Sub's answer to a unary Acknowledge or ModifyAckDeadline of an exactly-once subscription
 * naming ack ids that are invalid (unknown, expired and redelivered, already settled): an error
 * with a google.rpc.ErrorInfo whose metadata maps each such ack id to
 * PERMANENT_FAILURE_INVALID_ACK_ID, which the official clients turn into an invalid-ack-id
 * AckError for exactly those acks.
 *
 * The code decides what a client makes of the ack ids the metadata does not list. When every id
 * was invalid it is INVALID_ARGUMENT. When some took effect (their writes committed in the same
 * transaction) it is ABORTED: the official Node client would fail the unlisted acks along with
 * the invalid ones under a permanent code, but retries them under a transient one, and the retry
 * is confirmed (an ack of an already-acked delivery, or an extension of a lease still held, is
 * valid again). Java and Go clients confirm unlisted ids either way. Beyond MAX_LISTED_ACK_IDS
 * the answer is ABORTED too.
 */
export function invalidAckIdsError(invalidAckIds: readonly string[], someTookEffect: boolean): ConnectError {
  const metadata: Record<string, string> = {};
  for (const id of invalidAckIds.slice(0, MAX_LISTED_ACK_IDS)) metadata[id] = INVALID_ACK_ID_CODE;
  const isTransient = someTookEffect || invalidAckIds.length > MAX_LISTED_ACK_IDS;
  return new ConnectError(
    someTookEffect
      ? `${INVALID_ACK_IDS_MESSAGE} The other acknowledgement ids took effect; send them again to confirm them.`
      : INVALID_ACK_IDS_MESSAGE,
    isTransient ? Code.Aborted : Code.InvalidArgument,
    undefined,
    [
      {
        desc: ErrorInfoSchema,
        value: { reason: EXACTLY_ONCE_FAILURE_REASON, domain: PUBSUB_DOMAIN, metadata },
      },
    ],
  );
}

/** Throws `invalidAckIdsError` when an exactly-once call named invalid ack ids. */
export function confirmUnary(isExactlyOnce: boolean, ackIds: readonly string[], outcome: AckOutcome): void {
  if (!isExactlyOnce || outcome.invalidAckIds.length === 0) return;
  const { confirmed, invalid } = splitAckResults(ackIds, outcome.invalidAckIds);
  throw invalidAckIdsError(invalid, confirmed.length > 0);
}

/** What one StreamingPull request's acks and deadline changes came to, per ack id. */
export interface StreamAckResults {
  acks: { ackIds: readonly string[]; invalidAckIds: readonly string[]; failed: boolean };
  modifies: { ackIds: readonly string[]; invalidAckIds: readonly string[]; failed: boolean };
}

/**
 * The confirmation responses of an exactly-once stream for one request: an ack or deadline
 * change is confirmed once its fenced write committed; ids whose lease was lost are invalid; when
 * the database could not be reached every id of that kind is a temporary failure (clients retry).
 * Undefined when the request carried neither.
 */
export function streamConfirmation(results: StreamAckResults): StreamingPullResponseInit | undefined {
  const response: StreamingPullResponseInit = {};
  const { acks, modifies } = results;
  if (acks.ackIds.length > 0) {
    if (acks.failed) response.acknowledgeConfirmation = { temporaryFailedAckIds: [...new Set(acks.ackIds)] };
    else {
      const { confirmed, invalid } = splitAckResults(acks.ackIds, acks.invalidAckIds);
      response.acknowledgeConfirmation = { ackIds: confirmed, invalidAckIds: invalid };
    }
  }
  if (modifies.ackIds.length > 0) {
    if (modifies.failed) {
      response.modifyAckDeadlineConfirmation = { temporaryFailedAckIds: [...new Set(modifies.ackIds)] };
    } else {
      const { confirmed, invalid } = splitAckResults(modifies.ackIds, modifies.invalidAckIds);
      response.modifyAckDeadlineConfirmation = { ackIds: confirmed, invalidAckIds: invalid };
    }
  }
  return response.acknowledgeConfirmation || response.modifyAckDeadlineConfirmation ? response : undefined;
}
