/**
 * OIDC push tokens through the real server: a subscription created by the official Pub/Sub client
 * with `pushConfig.oidcToken` gets `Authorization: Bearer <JWT>` on every push; the token verifies
 * with `jose` against the JWKS Herald serves on its port, with the right issuer and audience; after
 * a key rotation old tokens keep verifying until the retired key's overlap has passed, and only then fail.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  jwtVerify,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../src/domain/clock.js";
import { pubsubClients } from "../support/pubsub-client.js";
import { PUSH_TEST_ENV } from "../support/push-env.js";
import { until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { startWebhookSink } from "../support/webhook-sink.js";

const HOUR_MS = 60 * 60 * 1000;
const SERVICE_ACCOUNT = "pusher@herald-test.iam.gserviceaccount.com";
const AUDIENCE = "https://receiver.example/push";

/** GET over plain HTTP/1.1 (fetch), as a receiver's JWT library would, parsed as JSON. */
async function getJson(baseUrl: string, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(new URL(path, baseUrl));
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text || "null") };
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "OIDC push tokens on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let sink: Awaited<ReturnType<typeof startWebhookSink>>;
    const clock = new FakeClock(Date.now());
    const clients = pubsubClients(() => t.server.url);

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(
        db,
        {},
        {
          clock,
          env: {
            ...PUSH_TEST_ENV,
            HERALD_OIDC_KEY_ROTATION_HOURS: "24",
            HERALD_OIDC_KEY_OVERLAP_HOURS: "2",
          },
        },
      );
      sink = await startWebhookSink();
    });
    afterAll(async () => {
      await clients.closeAll();
      await t?.stop();
      await sink?.close();
      await db?.drop();
    });

    const jwks = async () => {
      const { status, body } = await getJson(t.server.url, "/.well-known/jwks.json");
      expect(status).toBe(200);
      return body as JSONWebKeySet;
    };
    const verify = async (token: string, keys: JSONWebKeySet, audience = AUDIENCE) =>
      jwtVerify(token, createLocalJWKSet(keys), {
        issuer: t.server.url,
        audience,
        algorithms: ["RS256"],
        // The server runs on the test's clock; a token is checked at a time within its hour.
        currentDate: new Date((decodeJwt(token).iat ?? 0) * 1000 + 60_000),
      });

    it("signs every push of a Pub/Sub-created subscription and verifies against the JWKS", async () => {
      const pubsub = clients.create();
      const [topic] = await pubsub.createTopic("oidc-pushed");
      await topic.createSubscription("oidc-sub", {
        pushConfig: {
          pushEndpoint: sink.url,
          oidcToken: { serviceAccountEmail: SERVICE_ACCOUNT, audience: AUDIENCE },
        },
      });
      const [metadata] = await pubsub.subscription("oidc-sub").getMetadata();
      expect(metadata.pushConfig?.oidcToken).toMatchObject({
        serviceAccountEmail: SERVICE_ACCOUNT,
        audience: AUDIENCE,
      });
      await t.server.refreshPushers();
      await topic.publishMessage({ data: Buffer.from("first") });
      await until(() => sink.received.length >= 1, 20_000, "the first push");
      const authorization = sink.received[0]?.headers.authorization ?? "";
      expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      const token = authorization.slice("Bearer ".length);

      const discovery = await getJson(t.server.url, "/.well-known/openid-configuration");
      expect(discovery.body).toMatchObject({
        issuer: t.server.url,
        jwks_uri: `${t.server.url}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: ["RS256"],
      });
      // Any standard JWT library verifies against the published JWKS (fetched over HTTP/1.1 here).
      await jwtVerify(token, createRemoteJWKSet(new URL(`${t.server.url}/.well-known/jwks.json`)), {
        audience: AUDIENCE,
        issuer: t.server.url,
      });
      const { payload, protectedHeader } = await verify(token, await jwks());
      expect(protectedHeader.alg).toBe("RS256");
      expect(payload).toMatchObject({
        iss: t.server.url,
        aud: AUDIENCE,
        email: SERVICE_ACCOUNT,
        sub: SERVICE_ACCOUNT,
      });
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
      expect(payload.iat).toBe(Math.floor(clock.nowMs() / 1000));
      await expect(verify(token, await jwks(), "https://someone-else.example")).rejects.toThrow(/aud/);
      // A tampered payload fails.
      const [h, , s] = token.split(".");
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, email: "evil@x" })).toString("base64url")}.${s}`;
      await expect(verify(forged, await jwks())).rejects.toThrow();
    });

    it("rotates keys with overlap: old tokens verify until the retired key's overlap ends", async () => {
      const oldToken = (sink.received[0]?.headers.authorization ?? "").slice("Bearer ".length);
      const oldKid = decodeProtectedHeader(oldToken).kid;
      clock.advanceMs(24 * HOUR_MS + 1_000); // the signing key is due for rotation
      const pubsub = clients.create();
      await pubsub.topic("oidc-pushed").publishMessage({ data: Buffer.from("second") });
      await until(() => sink.received.length >= 2, 20_000, "the second push");
      const newToken = (sink.received[1]?.headers.authorization ?? "").slice("Bearer ".length);
      const newKid = decodeProtectedHeader(newToken).kid;
      expect(newKid).not.toBe(oldKid);

      const during = await jwks();
      expect(during.keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
      await expect(verify(oldToken, during)).resolves.toBeDefined();
      await expect(verify(newToken, during)).resolves.toBeDefined();

      clock.advanceMs(2 * HOUR_MS + 60_000); // past the overlap of the retired key
      const after = await jwks();
      expect(after.keys.map((k) => k.kid)).toEqual([newKid]);
      await expect(verify(oldToken, after)).rejects.toThrow(/no applicable key/i);
      await expect(verify(newToken, after)).resolves.toBeDefined();
    });
  },
);
