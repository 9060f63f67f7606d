/** Closed-loop publishing: several publishers share a fixed message count, each awaiting its batch. */
import { makeBatch } from "./bench-message.js";
import type { Publisher } from "./peers/peer.js";

export interface PublishLoopOptions {
  /** Messages to publish in total, shared by all publishers. */
  total: number;
  /** Messages per Publish call. */
  batchSize: number;
  /** Id prefix, unique per run. */
  idPrefix: string;
  /** performance.now() after which no new batch is started, ms. */
  deadlineMs: number;
}

export interface PublishLoopResult {
  /** Messages whose publish was acknowledged. */
  published: number;
  /** performance.now() when the first batch was sent and when the last acknowledgement arrived, ms. */
  firstSendAtMs: number;
  lastAckAtMs: number;
  /** True when `total` was reached before the deadline. */
  complete: boolean;
}

/** Runs every publisher until `total` messages are acknowledged or the deadline passes. */
export async function publishConcurrently(
  publishers: readonly Publisher[],
  options: PublishLoopOptions,
): Promise<PublishLoopResult> {
  let next = 0;
  let published = 0;
  let lastAckAtMs = Number.NaN;
  const firstSendAtMs = performance.now();
  const loop = async (publisher: Publisher) => {
    while (next < options.total && performance.now() < options.deadlineMs) {
      const first = next;
      const count = Math.min(options.batchSize, options.total - first);
      next += count;
      await publisher.publish(makeBatch(options.idPrefix, first, count, performance.now()));
      published += count;
      lastAckAtMs = performance.now();
    }
  };
  await Promise.all(publishers.map(loop));
  return { published, firstSendAtMs, lastAckAtMs, complete: published === options.total };
}
