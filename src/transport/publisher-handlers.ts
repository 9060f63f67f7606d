import type { ServiceImpl } from "@connectrpc/connect";
import type { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { authorizePublish } from "../app/auth/authorization.js";
import type { PublishMessages } from "../app/publish/publish-messages.js";
import { principalOf } from "./authentication.js";
import { timestampToMs } from "./operations-conversion.js";

/** herald.v1.PublisherService. */
export function createPublisherHandlers(publishing: PublishMessages): ServiceImpl<typeof PublisherService> {
  return {
    async publish(req, ctx) {
      authorizePublish(principalOf(ctx), req.publisher, req.topic);
      const result = await publishing.publish(
        {
          publisher: req.publisher,
          topic: req.topic,
          messages: req.messages.map((m, i) => ({
            data: m.data,
            attributes: m.attributes,
            orderingKey: m.orderingKey,
            identifier: m.identifier,
            dedupId: m.dedupId,
            deliverAtMs: timestampToMs(`messages[${i}].deliver_at`, m.deliverAt),
          })),
        },
        ctx.signal,
      );
      return { messageIds: result.messageIds.map((id) => id.toString()) };
    },
  };
}
