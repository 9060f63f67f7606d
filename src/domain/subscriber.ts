import { DomainError } from "./domain-error.js";
import { requireMaxBytes } from "./text-limits.js";

/** A consumer belonging to a client (tenant). */
export interface Subscriber {
  id: bigint;
  clientId: bigint;
  name: string;
  /** Endpoint for PUSH subscriptions; empty for pull-only subscribers. */
  webhookUrl: string;
  isActive: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface NewSubscriber {
  clientId: bigint;
  name: string;
  webhookUrl: string;
}

/**
 * Validates a webhook URL: empty (pull-only), or an absolute https URL (http too when `allowHttp`)
 * without credentials or fragment, at most 2048 bytes. Whether the address it resolves to may be
 * dialled is the pusher's decision at delivery time (SSRF policy), not a property of the URL.
 */
export function validateWebhookUrl(field: string, url: string, options: { allowHttp: boolean }): void {
  if (url === "") return;
  requireMaxBytes(field, url, 2048);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw DomainError.invalid(field, "must be an absolute http or https URL");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw DomainError.invalid(field, "must use the https scheme");
  }
  if (parsed.protocol === "http:" && !options.allowHttp) {
    throw DomainError.invalid(field, "must use https (plain http is not enabled: HERALD_WEBHOOK_ALLOW_HTTP)");
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw DomainError.invalid(field, "must not contain credentials");
  }
  if (parsed.hash !== "") throw DomainError.invalid(field, "must not contain a fragment");
  if (parsed.hostname === "") throw DomainError.invalid(field, "must name a host");
}

/** Validates a client id: positive. */
export function validateClientId(field: string, clientId: bigint): void {
  if (clientId <= 0n) throw DomainError.invalid(field, "must be a positive id");
}
