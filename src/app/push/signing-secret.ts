import { randomBytes } from "node:crypto";

/** A Standard Webhooks signing secret: "whsec_" and the base64 of 32 random bytes (the HMAC key). */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** The HMAC key inside a "whsec_" secret. */
export function signingKeyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
}
