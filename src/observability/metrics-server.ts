import { createHash, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logger.js";
import type { HeraldMetrics } from "./metrics.js";

export interface MetricsServerOptions {
  /** Host to bind, e.g. "127.0.0.1" or "::". */
  host: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** When set, scrapes must send `authorization: Bearer <token>` (401 otherwise). */
  token?: string;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Serves `GET /metrics` (Prometheus text format) on its own plain HTTP/1.1 port, apart from the gRPC
 * port, so that it can be firewalled separately, optionally behind a bearer token
 * (HERALD_METRICS_TOKEN). Start once; stop is idempotent.
 */
export class MetricsServer {
  private readonly server: http.Server;
  private stopping: Promise<void> | undefined;
  private tokenHash: Buffer | undefined;

  constructor(
    private readonly metrics: HeraldMetrics,
    private readonly logger: Logger,
  ) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  /** Listens and returns the scrape URL, e.g. http://127.0.0.1:9464/metrics. */
  async start(options: MetricsServerOptions): Promise<string> {
    this.tokenHash = options.token === undefined ? undefined : sha256(options.token);
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(options.port, options.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    const host = options.host.includes(":") ? `[${options.host}]` : options.host;
    return `http://${host}:${port}/metrics`;
  }

  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      // Scrapers keep connections alive; a scrape in progress is not worth waiting for.
      this.server.closeAllConnections();
    });
    return this.stopping;
  }

  private isAuthorized(authorization: string | undefined): boolean {
    if (this.tokenHash === undefined) return true;
    const match = /^Bearer (\S{1,512})$/.exec(authorization ?? "");
    // Hashes of equal length compare in constant time whatever the token's length.
    return match !== null && timingSafeEqual(sha256(match[1] as string), this.tokenHash);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found; try /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end();
      return;
    }
    if (!this.isAuthorized(req.headers.authorization)) {
      res
        .writeHead(401, {
          "www-authenticate": 'Bearer realm="metrics"',
          "content-type": "text/plain; charset=utf-8",
        })
        .end("metrics need authorization: Bearer <HERALD_METRICS_TOKEN>\n");
      return;
    }
    try {
      const body = await this.metrics.scrape();
      res.writeHead(200, { "content-type": this.metrics.contentType });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (error) {
      this.logger.error("metrics scrape failed", { error });
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("scrape failed\n");
    }
  }
}
