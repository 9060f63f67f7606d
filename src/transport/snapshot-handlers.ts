import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  type Snapshot as SnapshotPb,
  SnapshotSchema,
} from "../../gen/herald/v1/admin_service_pb.js";
import type { SnapshotAdmin, UpdateSnapshotInput } from "../app/replay/snapshot-admin.js";
import type { SubscriptionSeek } from "../app/replay/subscription-seek.js";
import { DomainError } from "../domain/domain-error.js";
import type { Snapshot } from "../domain/snapshot.js";
import { timestampToMs } from "./operations-conversion.js";

type SnapshotMethods =
  | "createSnapshot"
  | "getSnapshot"
  | "listSnapshots"
  | "updateSnapshot"
  | "deleteSnapshot"
  | "seekSubscription";

export function snapshotToPb(s: Snapshot): SnapshotPb {
  return create(SnapshotSchema, {
    name: s.name,
    topic: s.topicCode,
    sourceSubscription: s.sourceSubscription,
    labels: { ...s.labels },
    expireTime: timestampFromMs(s.expireAtMs),
    createTime: timestampFromMs(s.createdAtMs),
  });
}

/** Update-mask paths a snapshot update may name; anything else is INVALID_ARGUMENT. */
export function snapshotUpdateFromMask(
  paths: readonly string[],
  fields: {
    labels: Record<string, string>;
    expireTimeField: string;
    expireTime: Parameters<typeof timestampToMs>[1];
  },
): UpdateSnapshotInput {
  if (paths.length === 0) throw DomainError.invalid("update_mask", "names no field to update");
  const update: UpdateSnapshotInput = {};
  for (const path of paths) {
    if (path === "labels") update.labels = fields.labels;
    else if (path === "expire_time") {
      const expireAtMs = timestampToMs(fields.expireTimeField, fields.expireTime);
      if (expireAtMs === undefined)
        throw DomainError.invalid(fields.expireTimeField, "is required by update_mask");
      update.expireAtMs = expireAtMs;
    } else {
      throw DomainError.invalid("update_mask", `Herald cannot update "${path.slice(0, 64)}" of a snapshot`);
    }
  }
  return update;
}

/** The snapshot part of herald.v1.AdminService, and SeekSubscription (to a time or a snapshot). */
export function createSnapshotHandlers(
  snapshots: SnapshotAdmin,
  seek: SubscriptionSeek,
): Pick<ServiceImpl<typeof AdminService>, SnapshotMethods> {
  return {
    async createSnapshot(req) {
      const snapshot = await snapshots.create({
        name: req.name,
        subscription: req.subscription,
        labels: req.labels,
        pubsubProject: "",
      });
      return { snapshot: snapshotToPb(snapshot) };
    },
    async getSnapshot(req) {
      return { snapshot: snapshotToPb(await snapshots.get(req.name)) };
    },
    async listSnapshots(req) {
      const page = await snapshots.list({
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        topicCode: req.topic,
      });
      return { snapshots: page.items.map(snapshotToPb), nextPageToken: page.nextPageToken };
    },
    async updateSnapshot(req) {
      const update = snapshotUpdateFromMask(req.updateMask?.paths ?? [], {
        labels: req.labels,
        expireTimeField: "expire_time",
        expireTime: req.expireTime,
      });
      return { snapshot: snapshotToPb(await snapshots.update(req.name, update)) };
    },
    async deleteSnapshot(req) {
      await snapshots.delete(req.name);
      return {};
    },
    async seekSubscription(req) {
      const timeMs = timestampToMs("time", req.time);
      if (timeMs !== undefined && req.snapshot !== "") {
        throw DomainError.invalid("snapshot", "give either time or snapshot, not both");
      }
      if (timeMs === undefined && req.snapshot === "")
        throw DomainError.invalid("time", "a time or a snapshot is required");
      const result =
        timeMs !== undefined
          ? await seek.seekByName(req.name, timeMs)
          : await seek.seekToSnapshotByName(req.name, req.snapshot);
      return {
        ackedCount: BigInt(result.acked),
        requeuedCount: BigInt(result.requeued),
        replayedCount: BigInt(result.replayed),
      };
    },
  };
}
