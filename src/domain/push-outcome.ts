/**
 * What an HTTP response to a push means (Google Pub/Sub push and Svix semantics): 2xx and 102
 * acknowledge; 410 Gone dead-letters at once and pauses the subscription; everything else is a
 * failed attempt, and 429/503 may name when to retry.
 */
export type PushVerdict =
  | { kind: "ack" }
  | { kind: "gone" }
  | {
      kind: "retry";
      /** From Retry-After on 429/503, already clamped to the subscription's backoff bounds; null otherwise. */
      retryAfterMs: number | null;
    };

export function isPushSuccess(status: number): boolean {
  return (status >= 200 && status < 300) || status === 102;
}

/** Parses Retry-After (delta-seconds or an HTTP date) into a delay from `nowMs`; null when absent or malformed. */
export function parseRetryAfterMs(header: string | undefined, nowMs: number): number | null {
  if (header === undefined) return null;
  const value = header.trim();
  if (/^\d{1,10}$/.test(value)) return Number(value) * 1000;
  // HTTP-date in its IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT"); anything else is ignored.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

export function classifyPushResponse(
  status: number,
  retryAfterHeader: string | undefined,
  nowMs: number,
  bounds: { minBackoffMs: number; maxBackoffMs: number },
): PushVerdict {
  if (isPushSuccess(status)) return { kind: "ack" };
  if (status === 410) return { kind: "gone" };
  if (status === 429 || status === 503) {
    const requested = parseRetryAfterMs(retryAfterHeader, nowMs);
    // Honoured within bounds: a receiver cannot stall delivery beyond max_backoff, nor demand a
    // retry storm below min_backoff.
    const retryAfterMs =
      requested === null ? null : Math.min(bounds.maxBackoffMs, Math.max(bounds.minBackoffMs, requested));
    return { kind: "retry", retryAfterMs };
  }
  return { kind: "retry", retryAfterMs: null };
}
