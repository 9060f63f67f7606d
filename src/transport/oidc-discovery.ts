import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Jwks } from "../app/push/oidc-key-ring.js";

/** What the discovery routes need of the key ring. */
export interface OidcPublisher {
  readonly issuer: string;
  jwks(): Promise<Jwks>;
}

export const JWKS_PATH = "/.well-known/jwks.json";
export const OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration";

type Handler = (req: Http2ServerRequest, res: Http2ServerResponse) => void;

/**
 * Serves the public keys push tokens are signed with (`/.well-known/jwks.json`) and an OpenID
 * discovery document (`/.well-known/openid-configuration`) on the main port, unauthenticated (they
 * hold public keys only), GET or HEAD; every other request goes to `next`.
 */
export function withOidcDiscovery(
  publisher: OidcPublisher,
  next: Handler,
  onError: (error: unknown) => void,
): Handler {
  return (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== JWKS_PATH && path !== OPENID_CONFIGURATION_PATH) return next(req, res);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" });
      res.end();
      return;
    }
    const body = async () =>
      path === JWKS_PATH ? await publisher.jwks() : openIdConfiguration(publisher.issuer);
    body().then(
      (document) => {
        const json = JSON.stringify(document);
        res.writeHead(200, {
          "content-type": "application/json",
          // Receivers cache keys; a rotated key is published long before it signs and long after.
          "cache-control": "public, max-age=300",
        });
        if (req.method === "HEAD") res.end();
        else res.end(json);
      },
      (error: unknown) => {
        onError(error);
        res.writeHead(503, { "content-type": "application/json", "retry-after": "5" });
        res.end(JSON.stringify({ error: "keys are unavailable right now" }));
      },
    );
  };
}

/** The OpenID Provider metadata a JWT library needs to find the keys and check the issuer. */
export function openIdConfiguration(issuer: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}${JWKS_PATH}`,
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    claims_supported: ["iss", "aud", "email", "email_verified", "sub", "azp", "iat", "exp"],
  };
}
