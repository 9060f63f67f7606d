import { isIP } from "node:net";
import { Agent, request } from "undici";
import { BlockedDestinationError, type DestinationPolicy } from "./destination-policy.js";

/** Most response-body bytes kept (as last_error) from a failed push. */
export const RESPONSE_SNIPPET_BYTES = 2048;

export interface WebhookRequest {
  url: string;
  body: string | Uint8Array;
  /** Including content-type. */
  headers: Record<string, string>;
  /** Deadline of the whole request (connecting, sending, headers and body), ms. */
  timeoutMs: number;
}

/** What came back: an HTTP status, or an error before one arrived (timeout, refused, blocked). */
export interface WebhookResponse {
  status: number | null;
  retryAfter: string | undefined;
  /** Start of the response body (failures only), or the error's description. */
  detail: string;
  /** True when the destination was refused by the SSRF policy without a connection attempt. */
  blocked: boolean;
  durationMs: number;
}

/**
 * HTTP POST to webhook endpoints over keep-alive connection pools (undici, one pool per origin).
 * Redirects are never followed; every connection goes through the destination policy's lookup;
 * IP-literal hosts (which skip DNS) are checked before any connection.
 */
export class WebhookClient {
  private readonly agent: Agent;

  constructor(
    private readonly policy: DestinationPolicy,
    private readonly options: { allowHttp: boolean; userAgent: string; connectionsPerOrigin: number },
  ) {
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 30_000,
      connect: { lookup: policy.lookup, timeout: 10_000 } as never,
    });
  }

  async send(req: WebhookRequest): Promise<WebhookResponse> {
    const started = performance.now();
    const failed = (detail: string, blocked = false): WebhookResponse => ({
      status: null,
      retryAfter: undefined,
      detail,
      blocked,
      durationMs: Math.round(performance.now() - started),
    });
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return failed("invalid endpoint URL");
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && this.options.allowHttp)) {
      return failed(`scheme ${url.protocol} is not allowed (HERALD_WEBHOOK_ALLOW_HTTP)`, true);
    }
    const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
    if (!this.policy.isPortAllowed(port)) {
      return failed(`port ${port} is not allowed (HERALD_PUSH_ALLOWED_PORTS)`, true);
    }
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host) !== 0 && !this.policy.isAllowed(host)) {
      return failed(`destination ${host} is in a blocked address range`, true);
    }
    // One deadline for the whole exchange (connection, headers and body): undici's own timeouts
    // bound each wait for a chunk, so a receiver trickling bytes could hold a push indefinitely.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new PushDeadlineError(req.timeoutMs)), req.timeoutMs);
    try {
      const res = await request(url, {
        dispatcher: this.agent,
        method: "POST",
        headers: { ...req.headers, "user-agent": this.options.userAgent },
        body: req.body,
        signal: deadline.signal,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      const ok = (res.statusCode >= 200 && res.statusCode < 300) || res.statusCode === 102;
      // The status decides; the body is read (or drained) only until the deadline.
      const detail = ok ? "" : await readSnippet(res.body);
      if (ok) await res.body.dump({ limit: RESPONSE_SNIPPET_BYTES }).catch(() => undefined);
      const retryAfter = res.headers["retry-after"];
      return {
        status: res.statusCode,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        detail: detail === "" && !ok ? `HTTP ${res.statusCode}` : detail,
        blocked: false,
        durationMs: Math.round(performance.now() - started),
      };
    } catch (error) {
      if (isBlocked(error)) return failed(String((error as Error).message), true);
      const name = error instanceof Error ? error.name : "";
      if (
        deadline.signal.aborted ||
        name === "TimeoutError" ||
        name === "AbortError" ||
        name === "HeadersTimeoutError" ||
        name === "BodyTimeoutError"
      ) {
        return failed(`timed out after ${req.timeoutMs} ms`);
      }
      const code = (error as { code?: string }).code;
      return failed(`connection failed: ${code ?? (error instanceof Error ? error.message : String(error))}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** Why a push was cut: its whole-request deadline passed. */
class PushDeadlineError extends Error {
  override readonly name = "TimeoutError";
  constructor(timeoutMs: number) {
    super(`push deadline of ${timeoutMs} ms passed`);
  }
}

function isBlocked(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (
      e instanceof BlockedDestinationError ||
      (e as { code?: string }).code === "HERALD_BLOCKED_DESTINATION"
    )
      return true;
  }
  return false;
}

async function readSnippet(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= RESPONSE_SNIPPET_BYTES) break;
    }
  } catch {
    // A broken body still leaves the status to report.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_SNIPPET_BYTES).toString("utf8");
}
