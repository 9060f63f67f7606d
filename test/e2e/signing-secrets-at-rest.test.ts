/**
 * L2: webhook signing secrets are sealed with HERALD_SECRET_KEYS (AES-256-GCM) in the database,
 * plain secrets stored before a key was set are sealed at start, keys rotate, and pushes stay signed
 * with the secret the subscriber was given.
 */
import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { text } from "../support/fixtures.js";
import { until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { startWebhookSink } from "../support/webhook-sink.js";

const PUSH_ENV = {
  HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
  HERALD_WEBHOOK_ALLOW_HTTP: "true",
  HERALD_POLL_MIN_MS: "5",
  HERALD_POLL_MAX_MS: "50",
};

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "signing secrets at rest on %s",
  (_k, target) => {
    let db: TestDatabase | undefined;
    let t: TestServer | undefined;
    afterEach(async () => {
      await t?.stop();
      await db?.drop();
      t = undefined;
      db = undefined;
    });

    const storedSecrets = async (server: TestServer, id: bigint) =>
      (await (server.server.store as KnexStore)
        .knex("subscribers")
        .select("signing_secret", "previous_signing_secret")
        .where({ id: id.toString() })
        .first()) as { signing_secret: string; previous_signing_secret: string | null };

    it("seals plain secrets at start, rotates keys, and keeps pushes verifiable with the issued secret", async () => {
      db = await target.create();
      const oldKey = randomBytes(32).toString("base64");
      const newKey = randomBytes(32).toString("base64");

      // Before any key: stored as issued (the server warns).
      t = await startTestServer(db, {}, { env: PUSH_ENV });
      const sink = await startWebhookSink();
      try {
        const created = await t.admin.createSubscriber({ clientId: 3n, name: "s", webhookUrl: sink.url });
        const id = created.subscriber?.id ?? 0n;
        const secret = created.signingSecret;
        expect((await storedSecrets(t, id)).signing_secret).toBe(secret);
        await t.stop();

        // With a key: sealed at start; the stored value no longer contains the secret.
        t = await startTestServer(db, {}, { env: { ...PUSH_ENV, HERALD_SECRET_KEYS: oldKey } });
        const sealed = (await storedSecrets(t, id)).signing_secret;
        expect(sealed).toMatch(/^enc1:/);
        expect(sealed).not.toContain(secret.slice("whsec_".length));
        // A rotation stores the new secret sealed and keeps the previous one sealed.
        const rotated = await t.admin.rotateSubscriberSecret({ id });
        const afterRotation = await storedSecrets(t, id);
        expect(afterRotation.signing_secret).toMatch(/^enc1:/);
        expect(afterRotation.previous_signing_secret).toBe(sealed);
        await t.stop();

        // Key rotation: the new key first, the old one still listed; rows are sealed again.
        t = await startTestServer(
          db,
          {},
          { env: { ...PUSH_ENV, HERALD_SECRET_KEYS: `${newKey},${oldKey}` } },
        );
        const resealed = await storedSecrets(t, id);
        expect(resealed.signing_secret).toMatch(/^enc1:/);
        expect(resealed.signing_secret.split(":")[1]).not.toBe(sealed.split(":")[1]);

        // Pushes are signed with both secrets during the overlap, as issued to the subscriber.
        await t.admin.createPublisher({ code: "pub", name: "p" });
        await t.admin.createTopic({ code: "sealed.t", name: "t" });
        await t.admin.createSubscription({
          name: "sealed-push",
          subscriberId: id,
          topic: "sealed.t",
          deliveryType: DeliveryType.PUSH,
        });
        await t.server.refreshPushers();
        await t.publisher.publish({ publisher: "pub", topic: "sealed.t", messages: [{ data: text("x") }] });
        await until(() => sink.received.length > 0, 15_000, "one push");
        const push = sink.received[0];
        if (!push) throw new Error("no push");
        new Webhook(rotated.signingSecret).verify(push.body, push.headers as Record<string, string>);
        new Webhook(secret).verify(push.body, push.headers as Record<string, string>);
      } finally {
        await sink.close();
      }
    });

    it("refuses to start without the key a secret is sealed under", async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { env: { HERALD_SECRET_KEYS: randomBytes(32).toString("base64") } });
      const created = await t.admin.createSubscriber({ clientId: 4n, name: "s" });
      await t.stop();
      t = undefined;
      await expect(
        startTestServer(db, {}, { env: { HERALD_SECRET_KEYS: randomBytes(32).toString("base64") } }),
      ).rejects.toThrow(/HERALD_SECRET_KEYS does not list/);
      expect(created.signingSecret).toMatch(/^whsec_/);
    });
  },
);
