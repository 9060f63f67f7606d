/**
 * Workload 1s, single-message publish throughput: one message per Publish call, up to
 * `maxInFlight` calls in flight spread over `clients` connections, until a fixed count is
 * acknowledged (Herald: after the commit; RabbitMQ: each message's confirm). Nobody consumes;
 * Herald's topic has one pull subscription. Herald runs it with the grpc-js client only, the
 * client a generated stub in another stack would be.
 */
import type { Peer } from "../peers/peer.js";
import { publishMeasured } from "./publish-throughput.js";
import type { Workload, WorkloadContext } from "./workload.js";

function publishOneByOne(peer: Peer, ctx: WorkloadContext, total: number, isMeasured: boolean) {
  const { clients, maxInFlight } = ctx.settings.singlePublish;
  return publishMeasured(peer, ctx, total, isMeasured, {
    tag: ctx.uniqueTag("w1s"),
    clients,
    loopsPerClient: Math.max(1, Math.floor(maxInFlight / clients)),
    batchSize: 1,
  });
}

export const singlePublish: Workload = {
  id: "publish1",
  title: (s) =>
    `1s. single-message publish (${s.singlePublish.clients} clients, ≤${s.singlePublish.maxInFlight.toLocaleString("en-US")} calls in flight)`,
  isForPeers: true,
  unit: "msg/s",
  async warmUp(peer, ctx) {
    await publishOneByOne(peer, ctx, ctx.settings.singlePublish.warmupTotal, false);
  },
  runOnce: (peer, ctx) => publishOneByOne(peer, ctx, ctx.settings.singlePublish.total, true),
};
