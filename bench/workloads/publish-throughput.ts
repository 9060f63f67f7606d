/**
 * Workload 1, durable publish throughput: 4 concurrent publishers send batches of 100 until a fixed
 * count is acknowledged (Herald: after the commit). Nobody consumes; Herald's topic has one pull
 * subscription, so every message also writes one queue row.
 */

import type { Peer } from "../peers/peer.js";
import { publishConcurrently } from "../publish-loop.js";
import type { RunResult, Workload, WorkloadContext } from "./workload.js";

export interface PublishRunShape {
  tag: string;
  clients: number;
  /** Closed loops per client connection, each awaiting one call at a time. */
  loopsPerClient: number;
  batchSize: number;
}

/**
 * Publishes `total` messages through `clients` connections and reports the rate from the first
 * send to the last acknowledgement (metered when `isMeasured`). Shared by workloads 1 and 1s.
 */
export async function publishMeasured(
  peer: Peer,
  ctx: WorkloadContext,
  total: number,
  isMeasured: boolean,
  shape: PublishRunShape,
): Promise<RunResult> {
  const channel = await peer.openChannel(shape.tag);
  const publishers = await Promise.all(Array.from({ length: shape.clients }, () => channel.openPublisher()));
  try {
    // A publisher listed k times has k calls in flight on its connection.
    const loops = publishers.flatMap((p) => Array.from({ length: shape.loopsPerClient }, () => p));
    const meter = isMeasured ? await ctx.startMeter(peer) : undefined;
    const result = await publishConcurrently(loops, {
      total,
      batchSize: shape.batchSize,
      idPrefix: shape.tag,
      deadlineMs: performance.now() + ctx.settings.runTimeoutMs,
    });
    const cost = await meter?.finish();
    const seconds = (result.lastAckAtMs - result.firstSendAtMs) / 1000;
    return {
      count: result.published,
      expected: total,
      seconds,
      perSecond: result.published / seconds,
      isComplete: result.complete,
      ...(cost ? { cost } : {}),
      ...(result.complete ? {} : { problem: `run timeout: ${result.published}/${total} published` }),
    };
  } finally {
    await Promise.all(publishers.map((p) => p.close()));
    await channel.close();
  }
}

function publishFixedCount(peer: Peer, ctx: WorkloadContext, total: number, isMeasured: boolean) {
  const { clients, batchSize } = ctx.settings.publishThroughput;
  return publishMeasured(peer, ctx, total, isMeasured, {
    tag: ctx.uniqueTag("w1"),
    clients,
    loopsPerClient: 1,
    batchSize,
  });
}

export const publishThroughput: Workload = {
  id: "publish",
  title: (s) =>
    `1. durable publish (${s.publishThroughput.clients} clients × batches of ${s.publishThroughput.batchSize})`,
  isForPeers: true,
  unit: "msg/s",
  async warmUp(peer, ctx) {
    await publishFixedCount(peer, ctx, ctx.settings.publishThroughput.warmupTotal, false);
  },
  runOnce: (peer, ctx) => publishFixedCount(peer, ctx, ctx.settings.publishThroughput.total, true),
};
