import { DomainError } from "./domain-error.js";

/** How long a push token is valid, as Google's push tokens: one hour. */
export const OIDC_TOKEN_LIFETIME_MS = 60 * 60 * 1000;

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const PRINTABLE = /^[\x21-\x7e]*$/;

/**
 * Validates a subscription's OIDC token settings (Pub/Sub `pushConfig.oidcToken`): a service
 * account email when any is set, and an audience of printable characters ("" = the push endpoint).
 */
export function validatePushOidc(field: string, serviceAccountEmail: string, audience: string): void {
  if (serviceAccountEmail === "") {
    if (audience !== "")
      throw DomainError.invalid(`${field}.service_account_email`, "is required with an audience");
    return;
  }
  if (!EMAIL.test(serviceAccountEmail) || serviceAccountEmail.length > 320) {
    throw DomainError.invalid(
      `${field}.service_account_email`,
      "must be an email address of at most 320 characters",
    );
  }
  if (!PRINTABLE.test(audience) || audience.length > 1024) {
    throw DomainError.invalid(
      `${field}.audience`,
      "must be at most 1024 printable characters without spaces",
    );
  }
}

/** The claims of a push token, as Google's push tokens carry them. */
export interface PushTokenClaims {
  iss: string;
  aud: string;
  email: string;
  email_verified: true;
  /** The service account stands for itself: its email is its stable subject. */
  sub: string;
  azp: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

/** The claims of a token for one push subscription; the audience defaults to the endpoint URL (as Pub/Sub). */
export function pushTokenClaims(input: {
  issuer: string;
  serviceAccountEmail: string;
  audience: string;
  endpointUrl: string;
  nowMs: number;
}): PushTokenClaims {
  const iat = Math.floor(input.nowMs / 1000);
  return {
    iss: input.issuer,
    aud: input.audience !== "" ? input.audience : input.endpointUrl,
    email: input.serviceAccountEmail,
    email_verified: true,
    sub: input.serviceAccountEmail,
    azp: input.serviceAccountEmail,
    iat,
    exp: iat + OIDC_TOKEN_LIFETIME_MS / 1000,
  };
}
