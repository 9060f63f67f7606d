import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import type { Inspection } from "../app/admin/inspection.js";
import {
  notificationLogToPb,
  queueItemToPb,
  subscriptionStatsToPb,
  timestampToMs,
} from "./operations-conversion.js";

type InspectionMethods = "getSubscriptionStats" | "listQueueItems" | "listNotificationLogs";

/** The inspection part of herald.v1.AdminService: queue rows, subscription numbers, notification log. */
export function createInspectionHandlers(
  inspection: Inspection,
): Pick<ServiceImpl<typeof AdminService>, InspectionMethods> {
  return {
    async getSubscriptionStats(req) {
      return { stats: subscriptionStatsToPb(await inspection.subscriptionStats(req.name)) };
    },
    async listQueueItems(req) {
      const page = await inspection.listQueueItems(req.subscription, req.status, req.pageSize, req.pageToken);
      return { queueItems: page.items.map(queueItemToPb), nextPageToken: page.nextPageToken };
    },
    async listNotificationLogs(req) {
      const startMs = timestampToMs("start_time", req.startTime);
      const endMs = timestampToMs("end_time", req.endTime);
      const page = await inspection.listNotificationLogs(
        {
          messageId: req.messageId,
          subscription: req.subscription,
          subscriberId: req.subscriberId,
          deliveryMethod: req.deliveryMethod,
          status: req.status,
          ...(startMs !== undefined ? { startMs } : {}),
          ...(endMs !== undefined ? { endMs } : {}),
        },
        req.pageSize,
        req.pageToken,
      );
      return { notificationLogs: page.items.map(notificationLogToPb), nextPageToken: page.nextPageToken };
    },
  };
}
