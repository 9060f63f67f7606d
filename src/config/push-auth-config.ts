/**
 * Settings of push authentication (OIDC push tokens). Parsed from the environment record config.ts
 * hands over; reads no environment itself.
 */
import { parseIntVar } from "./config-values.js";

export interface PushAuthConfig {
  /** `iss` of push tokens and base URL of the discovery document; undefined: the server's own URL. */
  oidcIssuer: string | undefined;
  /** A signing key older than this is replaced, ms. */
  oidcKeyRotationMs: number;
  /** How long a replaced key stays in the JWKS, ms. */
  oidcKeyOverlapMs: number;
}

export const PUSH_AUTH_DEFAULTS = Object.freeze({
  HERALD_OIDC_ISSUER: "",
  HERALD_OIDC_KEY_ROTATION_HOURS: "168",
  HERALD_OIDC_KEY_OVERLAP_HOURS: "24",
});

const HOUR_MS = 60 * 60 * 1000;

export function parsePushAuthConfig(
  problems: string[],
  env: Record<string, string | undefined>,
): PushAuthConfig {
  const read = (name: keyof typeof PUSH_AUTH_DEFAULTS) => {
    const value = env[name];
    return value === undefined || value === "" ? PUSH_AUTH_DEFAULTS[name] : value;
  };
  const issuer = read("HERALD_OIDC_ISSUER");
  if (issuer !== "" && !/^https?:\/\/[\x21-\x7e]+$/.test(issuer)) {
    problems.push("HERALD_OIDC_ISSUER must be an http(s) URL, e.g. https://herald.example.com");
  }
  return {
    oidcIssuer: issuer === "" ? undefined : issuer,
    oidcKeyRotationMs:
      parseIntVar(
        problems,
        "HERALD_OIDC_KEY_ROTATION_HOURS",
        read("HERALD_OIDC_KEY_ROTATION_HOURS"),
        1,
        8760,
      ) * HOUR_MS,
    // At least the token lifetime (1 h): a token signed just before a rotation must still verify.
    oidcKeyOverlapMs:
      parseIntVar(problems, "HERALD_OIDC_KEY_OVERLAP_HOURS", read("HERALD_OIDC_KEY_OVERLAP_HOURS"), 1, 8760) *
      HOUR_MS,
  };
}
