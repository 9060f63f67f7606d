import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type Publisher,
  type Snapshot as SnapshotPb,
  SnapshotSchema,
  type Subscriber,
} from "../../../gen/google/pubsub/v1/pubsub_pb.js";
import type { SnapshotAdmin } from "../../app/replay/snapshot-admin.js";
import type { SubscriptionSeek } from "../../app/replay/subscription-seek.js";
import { DomainError } from "../../domain/domain-error.js";
import type { Snapshot } from "../../domain/snapshot.js";
import { timestampToMs } from "../operations-conversion.js";
import { snapshotUpdateFromMask } from "../snapshot-handlers.js";
import { unimplemented } from "./pubsub-conversion.js";
import {
  parseProjectName,
  parseSnapshotName,
  parseSubscriptionName,
  parseTopicName,
  snapshotName,
  topicName,
} from "./resource-names.js";

export interface PubsubSnapshotDeps {
  snapshots: SnapshotAdmin;
  seek: SubscriptionSeek;
}

/** Pub/Sub's topic name of a snapshot whose topic was deleted. */
const DELETED_TOPIC = "_deleted-topic_";

/** A snapshot under `project` (the request's: Herald has one namespace, as for topics). */
export function snapshotToPubsub(project: string, s: Snapshot): SnapshotPb {
  return create(SnapshotSchema, {
    name: snapshotName(project, s.name),
    topic: s.topicCode === "" ? DELETED_TOPIC : topicName(project, s.topicCode),
    expireTime: timestampFromMs(s.expireAtMs),
    labels: { ...s.labels },
  });
}

type SubscriberSnapshotMethods =
  | "getSnapshot"
  | "listSnapshots"
  | "createSnapshot"
  | "updateSnapshot"
  | "deleteSnapshot"
  | "seek";

/** google.pubsub.v1 snapshots and Seek (to a time or a snapshot) over Herald's snapshots. */
export function createPubsubSnapshotHandlers(
  deps: PubsubSnapshotDeps,
): Pick<ServiceImpl<typeof Subscriber>, SubscriberSnapshotMethods> {
  const { snapshots, seek } = deps;
  return {
    async getSnapshot(req) {
      const { project, id } = parseSnapshotName("snapshot", req.snapshot);
      return snapshotToPubsub(project, await snapshots.get(id));
    },

    async listSnapshots(req) {
      const project = parseProjectName("project", req.project);
      const page = await snapshots.list({ pageSize: req.pageSize, pageToken: req.pageToken });
      return {
        snapshots: page.items.map((s) => snapshotToPubsub(project, s)),
        nextPageToken: page.nextPageToken,
      };
    },

    async createSnapshot(req) {
      const { project, id } = parseSnapshotName("name", req.name);
      const subscription = parseSubscriptionName("subscription", req.subscription);
      if (Object.keys(req.tags).length > 0) throw unimplemented("tags");
      const snapshot = await snapshots.create({
        name: id,
        subscription: subscription.id,
        labels: req.labels,
        pubsubProject: project,
      });
      return snapshotToPubsub(project, snapshot);
    },

    async updateSnapshot(req) {
      if (!req.snapshot) throw DomainError.invalid("snapshot", "is required");
      const { project, id } = parseSnapshotName("snapshot.name", req.snapshot.name);
      const update = snapshotUpdateFromMask(req.updateMask?.paths ?? [], {
        labels: req.snapshot.labels,
        expireTimeField: "snapshot.expire_time",
        expireTime: req.snapshot.expireTime,
      });
      return snapshotToPubsub(project, await snapshots.update(id, update));
    },

    async deleteSnapshot(req) {
      const { id } = parseSnapshotName("snapshot", req.snapshot);
      await snapshots.delete(id);
      return {};
    },

    async seek(req) {
      const { id } = parseSubscriptionName("subscription", req.subscription);
      if (req.target.case === "snapshot") {
        const snapshot = parseSnapshotName("snapshot", req.target.value);
        await seek.seekToSnapshotByName(id, snapshot.id);
        return {};
      }
      if (req.target.case !== "time") throw DomainError.invalid("time", "a time or a snapshot is required");
      await seek.seekByName(id, timestampToMs("time", req.target.value) ?? 0);
      return {};
    },
  };
}

/** Publisher.ListTopicSnapshots: the names of the topic's live snapshots. */
export function createPubsubTopicSnapshotHandlers(
  deps: Pick<PubsubSnapshotDeps, "snapshots">,
): Pick<ServiceImpl<typeof Publisher>, "listTopicSnapshots"> {
  return {
    async listTopicSnapshots(req) {
      const { project, id } = parseTopicName("topic", req.topic);
      const page = await deps.snapshots.list({
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        topicCode: id,
      });
      return {
        snapshots: page.items.map((s) => snapshotName(project, s.name)),
        nextPageToken: page.nextPageToken,
      };
    },
  };
}
