import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";

function notYet(): never {
  throw new ConnectError(
    "delivery is not available yet: the pull delivery engine lands next",
    Code.Unimplemented,
  );
}

/**
 * herald.v1.SubscriberService. The contract is final; the delivery engine arrives with the
 * *Pull delivery* issue, until then each call answers UNIMPLEMENTED (the one placeholder the
 * Foundation issue allows).
 */
export function createSubscriberHandlers(): ServiceImpl<typeof SubscriberService> {
  return {
    // biome-ignore lint/correctness/useYield: answers UNIMPLEMENTED before streaming anything
    async *subscribe() {
      notYet();
    },
    async pull() {
      notYet();
    },
    async acknowledge() {
      notYet();
    },
    async modifyAckDeadline() {
      notYet();
    },
  };
}
