import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { CallerKind, type ConsoleService } from "../../gen/herald/v1/console_service_pb.js";
import { ResolutionFilter } from "../../gen/herald/v1/dead_letter_service_pb.js";
import type { ConsoleViews } from "../app/admin/console-views.js";
import { DomainError } from "../domain/domain-error.js";
import { principalOf } from "./authentication.js";
import { deadLetterToPb, notificationLogToPb, subscriptionStatsToPb } from "./operations-conversion.js";
import { subscriptionToPb } from "./proto-conversion.js";

const CALLER_KINDS = {
  open: CallerKind.OPEN,
  admin: CallerKind.ADMIN,
  subscriber: CallerKind.SUBSCRIBER,
} as const;

function resolvedFromPb(resolution: ResolutionFilter): boolean | undefined {
  switch (resolution) {
    case ResolutionFilter.UNSPECIFIED:
      return undefined;
    case ResolutionFilter.RESOLVED:
      return true;
    case ResolutionFilter.UNRESOLVED:
      return false;
    default:
      throw DomainError.invalid("resolution", "unknown value");
  }
}

/** herald.v1.ConsoleService: the web console's reads, scoped to the caller (console-views.ts). */
export function createConsoleHandlers(views: ConsoleViews): ServiceImpl<typeof ConsoleService> {
  return {
    async getCaller(_req, ctx) {
      const caller = await views.caller(principalOf(ctx));
      return {
        kind: CALLER_KINDS[caller.kind],
        subscriberId: caller.subscriberId,
        subscriberName: caller.subscriberName,
      };
    },
    async getDeliveryHistory(req, ctx) {
      const minutes = await views.deliveryHistory(principalOf(ctx), req.subscription, req.minutes);
      return {
        minutes: minutes.map((m) => ({
          startTime: timestampFromMs(m.minuteStartMs),
          sent: BigInt(m.sent),
          failed: BigInt(m.failed),
        })),
      };
    },
    async listCallerSubscriptions(req, ctx) {
      const page = await views.listSubscriptions(principalOf(ctx), req.pageSize, req.pageToken);
      return {
        subscriptions: page.items.map((s) => ({
          subscription: subscriptionToPb(s.subscription),
          stats: subscriptionStatsToPb(s.stats),
        })),
        nextPageToken: page.nextPageToken,
      };
    },
    async listCallerDeliveries(req, ctx) {
      const page = await views.listDeliveries(
        principalOf(ctx),
        req.subscription,
        req.status,
        req.pageSize,
        req.pageToken,
      );
      return { notificationLogs: page.items.map(notificationLogToPb), nextPageToken: page.nextPageToken };
    },
    async listCallerDeadLetters(req, ctx) {
      const page = await views.listDeadLetters(
        principalOf(ctx),
        req.subscription,
        resolvedFromPb(req.resolution),
        req.pageSize,
        req.pageToken,
      );
      return { deadLetters: page.items.map(deadLetterToPb), nextPageToken: page.nextPageToken };
    },
    async getCallerDeadLetter(req, ctx) {
      const { deadLetter, attributes } = await views.getDeadLetter(principalOf(ctx), req.id);
      return { deadLetter: deadLetterToPb(deadLetter), attributes };
    },
  };
}
