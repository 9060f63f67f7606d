import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Server settings that let pushes reach a sink on 127.0.0.1 over plain HTTP. */
export const LOOPBACK_WEBHOOK_ENV: Readonly<Record<string, string>> = Object.freeze({
  HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
  HERALD_WEBHOOK_ALLOW_HTTP: "true",
});

export interface ReceivedPush {
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's bytes (unwrapped pushes carry the raw message data). */
  raw: Buffer;
  /** The parsed body; undefined when it is not JSON. */
  json: {
    message: {
      data: string;
      attributes: Record<string, string>;
      messageId: string;
      message_id: string;
      publishTime: string;
      orderingKey?: string;
      identifier: string;
      topic: string;
    };
    subscription: string;
    deliveryAttempt: number;
  };
  atMs: number;
  /** Status this sink answered with (filled in after the handler ran). */
  status: number;
  /** When the exchange ended (response finished or connection cut); undefined while open. */
  closedAtMs?: number;
  /** Whether the sink finished its answer before the connection closed. */
  finished?: boolean;
}

/**
 * How the sink answers one request: a status (and headers), or a delay before answering; with
 * `trickle`, the status and headers at once and then one body byte every `everyMs` for `forMs`.
 */
export type SinkReply = {
  status: number;
  headers?: Record<string, string>;
  delayMs?: number;
  body?: string;
  trickle?: { everyMs: number; forMs: number };
};

/**
 * A real local HTTP webhook receiver on 127.0.0.1:0. `reply` decides each answer (default 204);
 * every request is recorded with the time it arrived and the status it got.
 */
export async function startWebhookSink(
  reply: (push: ReceivedPush, index: number) => SinkReply = () => ({ status: 204 }),
) {
  const received: ReceivedPush[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString("utf8");
      const push: ReceivedPush = {
        headers: req.headers,
        body,
        raw,
        json: parseJson(body),
        atMs: Date.now(),
        status: 0,
      };
      const index = received.length;
      received.push(push);
      const answer = reply(push, index);
      push.status = answer.status;
      open.add(res);
      res.on("close", () => {
        push.closedAtMs = Date.now();
        push.finished = res.writableFinished;
      });
      const send = () => {
        open.delete(res);
        if (res.destroyed) return;
        res.writeHead(answer.status, answer.headers ?? {});
        if (answer.trickle) return trickle(res, answer.trickle, () => open.delete(res), open);
        res.end(answer.body ?? "");
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes one byte every `everyMs` for `forMs`, then ends; stops when the client goes away. */
function trickle(
  res: ServerResponse,
  { everyMs, forMs }: { everyMs: number; forMs: number },
  done: () => void,
  open: Set<ServerResponse>,
): void {
  open.add(res);
  const endAt = Date.now() + forMs;
  const timer = setInterval(() => {
    if (res.destroyed) {
      clearInterval(timer);
      done();
    } else if (Date.now() >= endAt) {
      clearInterval(timer);
      done();
      res.end();
    } else res.write(".");
  }, everyMs);
  res.on("close", () => {
    clearInterval(timer);
    done();
  });
}

function parseJson(body: string): ReceivedPush["json"] {
  try {
    return JSON.parse(body) as ReceivedPush["json"];
  } catch {
    return undefined as unknown as ReceivedPush["json"];
  }
}
