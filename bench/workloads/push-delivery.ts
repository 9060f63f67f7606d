/**
 * Workload 4, push delivery (Herald only): a topic with one PUSH subscription whose subscriber's
 * webhook_url is a node:http receiver in this process on 127.0.0.1. The receiver reads the body,
 * parses it only for the identifier and the send time in `message.attributes`, and answers 204.
 * 4 publishers send batches of 100; throughput is from the first publish to the N-th distinct
 * message received, latency is publish→receive. Duplicates (redeliveries) are counted.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DeliveryTracker } from "../delivery-tracker.js";
import { asHeraldPeer, SENT_AT_ATTRIBUTE } from "../peers/herald-peer.js";
import type { Peer } from "../peers/peer.js";
import { publishConcurrently } from "../publish-loop.js";
import { summarizeLatencies } from "../stats.js";
import type { RunResult, Workload, WorkloadContext } from "./workload.js";

/** Herald re-reads its PUSH subscriptions every 1 s; waiting this long lets it start pushing at once. */
const PUSHER_REFRESH_SETTLE_MS = 1_200;

interface PushBody {
  message?: { identifier?: string; attributes?: Record<string, string> };
}

/** The receiver: every delivery goes to `tracker`; `completedAtMs` is set at the N-th distinct id. */
async function startReceiver(tracker: DeliveryTracker) {
  const state = { completedAtMs: Number.NaN };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const receivedAtMs = performance.now();
      let message: PushBody["message"];
      try {
        message = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as PushBody).message;
      } catch (err) {
        tracker.handlers.onError(err);
      }
      if (message?.identifier === undefined) {
        tracker.handlers.onError(new Error("push body without message.identifier"));
        res.writeHead(400).end();
        return;
      }
      tracker.handlers.onReceived(
        [{ id: message.identifier, sentAtMs: Number(message.attributes?.[SENT_AT_ATTRIBUTE]) }],
        receivedAtMs,
      );
      if (Number.isNaN(state.completedAtMs) && tracker.uniqueReceived >= tracker.expected) {
        state.completedAtMs = receivedAtMs;
      }
      res.writeHead(204).end();
      tracker.handlers.onAcked(1);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/push`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function pushRun(peer: Peer, ctx: WorkloadContext, total: number, isMeasured: boolean) {
  const s = ctx.settings.push;
  const tag = ctx.uniqueTag("w4");
  const tracker = new DeliveryTracker(total);
  const receiver = await startReceiver(tracker);
  try {
    const channel = await asHeraldPeer(peer).openHeraldChannel(tag, { pushEndpoint: receiver.url });
    const publishers = await Promise.all(Array.from({ length: s.clients }, () => channel.openPublisher()));
    try {
      await new Promise((resolve) => setTimeout(resolve, PUSHER_REFRESH_SETTLE_MS));
      const meter = isMeasured ? await ctx.startMeter(peer) : undefined;
      const deadlineMs = performance.now() + ctx.settings.runTimeoutMs;
      const published = await publishConcurrently(publishers, {
        total,
        batchSize: s.batchSize,
        idPrefix: tag,
        deadlineMs,
      });
      const isDrained = await tracker.waitForAll(deadlineMs);
      const cost = await meter?.finish();
      const endMs = Number.isNaN(receiver.state.completedAtMs)
        ? performance.now()
        : receiver.state.completedAtMs;
      const seconds = (endMs - published.firstSendAtMs) / 1000;
      const problem =
        tracker.firstError !== undefined
          ? `receiver error: ${tracker.firstError instanceof Error ? tracker.firstError.message : String(tracker.firstError)}`
          : !published.complete || !isDrained
            ? `run timeout: ${published.published}/${total} published, ${tracker.uniqueReceived} received`
            : undefined;
      const run: RunResult = {
        count: tracker.uniqueReceived,
        expected: total,
        seconds,
        perSecond: tracker.uniqueReceived / seconds,
        isComplete: problem === undefined,
        latency: summarizeLatencies(tracker.latenciesMs),
        duplicates: tracker.duplicates,
        ...(cost ? { cost } : {}),
        ...(problem ? { problem } : {}),
        ...(tracker.duplicates > 0 ? { remark: `${tracker.duplicates} duplicate deliveries` } : {}),
      };
      return run;
    } finally {
      await Promise.all(publishers.map((p) => p.close().catch(() => {})));
      await channel.close();
    }
  } finally {
    await receiver.close();
  }
}

export const pushDelivery: Workload = {
  id: "push",
  title: (s) =>
    `4. push to a local webhook (${s.push.clients} clients × batches of ${s.push.batchSize}, receiver answers 204)`,
  isForPeers: false,
  unit: "msg/s",
  heraldEnv: { HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32", HERALD_WEBHOOK_ALLOW_HTTP: "true" },
  async warmUp(peer, ctx) {
    await pushRun(peer, ctx, ctx.settings.push.warmupTotal, false);
  },
  runOnce: (peer, ctx) => pushRun(peer, ctx, ctx.settings.push.total, true),
};
