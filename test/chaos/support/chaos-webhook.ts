/**
 * A real webhook receiver for the fault-injection suite on 127.0.0.1:0. `mode()` decides each
 * answer: `ok` (204), `error` (500), `timeout` (holds the request past Herald's push timeout, then
 * drops the connection) or `reset` (destroys the connection as soon as the request arrived).
 * Every push is recorded in its subscription's ledger; a 204 counts as received.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { DeliveryLedger } from "./delivery-ledger.js";

export type WebhookMode = "ok" | "error" | "timeout" | "reset";

export interface ChaosWebhookOptions {
  ledgerFor(subscription: string): DeliveryLedger | undefined;
  mode?: () => WebhookMode;
  /** How long a `timeout` answer holds the request, ms; more than HERALD_PUSH_TIMEOUT_MS. */
  timeoutHoldMs?: number;
}

export interface ChaosWebhook {
  readonly url: string;
  /** Requests answered per mode. */
  readonly answers: Record<WebhookMode, number>;
  /** Requests that could not be parsed (should stay 0). */
  readonly malformed: number;
  close(): Promise<void>;
}

export async function startChaosWebhook(options: ChaosWebhookOptions): Promise<ChaosWebhook> {
  const answers: Record<WebhookMode, number> = { ok: 0, error: 0, timeout: 0, reset: 0 };
  let malformed = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    let subscription = "";
    let chaosId = "";
    let messageId = "";
    try {
      const json = JSON.parse(body) as { subscription: string; message: { data: string; messageId: string } };
      subscription = json.subscription;
      chaosId = Buffer.from(json.message.data, "base64").toString("utf8");
      messageId = json.message.messageId;
    } catch {
      malformed += 1;
      res.writeHead(400).end();
      return;
    }
    const ledger = options.ledgerFor(subscription);
    ledger?.received("webhook", chaosId, messageId);
    const mode = options.mode?.() ?? "ok";
    answers[mode] += 1;
    if (mode === "ok") {
      res.writeHead(204).end();
      ledger?.acknowledged([chaosId]);
      ledger?.released("webhook", [messageId]);
    } else if (mode === "error") {
      res.writeHead(500, { "content-type": "text/plain" }).end("chaos: failing on purpose");
      ledger?.released("webhook", [messageId]);
    } else if (mode === "timeout") {
      const timer = setTimeout(() => {
        timers.delete(timer);
        req.socket.destroy();
        ledger?.released("webhook", [messageId]);
      }, options.timeoutHoldMs ?? 3_000);
      timers.add(timer);
    } else {
      req.socket.destroy();
      ledger?.released("webhook", [messageId]);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => undefined);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.once("close", () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 2_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    answers,
    get malformed() {
      return malformed;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
