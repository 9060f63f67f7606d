/**
 * The push workloads' webhook receiver: a node:http server in the bench process on 127.0.0.1. It
 * reads the body, parses it only for the identifier and the send time in `message.attributes`, and
 * answers 204.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DeliveryTracker } from "./delivery-tracker.js";
import { SENT_AT_ATTRIBUTE } from "./peers/herald-peer.js";

/** Herald re-reads its PUSH subscriptions every 1 s; waiting this long lets it start pushing at once. */
export const PUSHER_REFRESH_SETTLE_MS = 1_200;

interface PushBody {
  message?: { identifier?: string; attributes?: Record<string, string> };
}

/** The receiver: every delivery goes to `tracker`; `completedAtMs` is set at the N-th distinct id. */
export async function startPushReceiver(tracker: DeliveryTracker) {
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
