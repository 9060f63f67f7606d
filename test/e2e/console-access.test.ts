/**
 * Who sees what through the console: with authentication on, no console call (ConsoleService,
 * AdminService, DeadLetterService over Connect JSON, as the browser sends them) succeeds without a
 * valid credential; a subscriber key sees only its own subscriptions, deliveries and dead letters,
 * in the API and in the browser (read-only); HERALD_CONSOLE_ENABLED=false serves no console.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { ConsoleService } from "../../gen/herald/v1/console_service_pb.js";
import { DeadLetterService } from "../../gen/herald/v1/dead_letter_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";
import {
  expectNoSeriousA11yViolations,
  hasChromium,
  launchChromium,
  screenshot,
  watchPage,
} from "../support/console-browser.js";
import { withBearer } from "../support/herald-clients.js";
import { eventually } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const ADMIN = "console-access-admin-token-0123";

/** A Connect JSON call exactly as the browser makes it (HTTP/1.1 POST), with an optional token. */
async function connectCall(url: string, path: string, token?: string) {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: "{}",
  });
  const body = (await res.json()) as { code?: string };
  return { status: res.status, code: body.code };
}

const CONSOLE_SERVICES = [ConsoleService, AdminService, DeadLetterService];
const consolePaths = CONSOLE_SERVICES.flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`));

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "console access on %s",
  (kind, target) => {
    let db: TestDatabase;
    let t: TestServer;
    const keys = { publisher: "", alice: "", bob: "" };
    let bobDeadLetterId = 0n;
    const client = <
      S extends (typeof CONSOLE_SERVICES)[number] | typeof SubscriberService | typeof PublisherService,
    >(
      service: S,
      token: string,
    ) =>
      createClient(
        service,
        createGrpcTransport({ baseUrl: t.server.url, interceptors: [withBearer(token)] }),
      );

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { env: { HERALD_ADMIN_TOKENS: ADMIN } });
      const admin = client(AdminService, ADMIN);
      await admin.createTopic({ code: "portal.events", name: "portal" });
      keys.publisher = (
        await admin.createPublisher({ code: "portal-pub", name: "p", allowedTopics: ["*"] })
      ).apiKey;
      const alice = await admin.createSubscriber({ clientId: 1n, name: "alice" });
      const bob = await admin.createSubscriber({ clientId: 2n, name: "bob" });
      keys.alice = alice.apiKey;
      keys.bob = bob.apiKey;
      for (const [name, subscriber] of [
        ["alice-events", alice],
        ["bob-events", bob],
      ] as const) {
        await admin.createSubscription({
          name,
          subscriberId: subscriber.subscriber?.id ?? 0n,
          topic: "portal.events",
          maxDeliveryAttempts: 1,
        });
      }
      await client(PublisherService, keys.publisher).publish({
        publisher: "portal-pub",
        topic: "portal.events",
        messages: [{ data: new TextEncoder().encode("hello portal"), identifier: "p-1" }],
      });
      // Each subscriber nacks its copy: one dead letter per subscription.
      for (const [name, key] of [
        ["alice-events", keys.alice],
        ["bob-events", keys.bob],
      ] as const) {
        const consumer = client(SubscriberService, key);
        const pulled = await consumer.pull({ subscription: name, maxMessages: 10 });
        await consumer.modifyAckDeadline({
          subscription: name,
          ackIds: pulled.receivedMessages.map((m) => m.ackId),
          ackDeadlineSeconds: 0,
        });
      }
      const dlq = client(DeadLetterService, ADMIN);
      const bobs = await eventually(
        () => dlq.listDeadLetters({ filter: { subscription: "bob-events" } }),
        (r) => r.deadLetters.length === 1,
        20_000,
        "bob's dead letter",
      );
      bobDeadLetterId = bobs.deadLetters[0]?.id ?? 0n;
      await eventually(
        () => dlq.listDeadLetters({ filter: { subscription: "alice-events" } }),
        (r) => r.deadLetters.length === 1,
        20_000,
        "alice's dead letter",
      );
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("answers every console call without a credential, or with a wrong one, UNAUTHENTICATED", async () => {
      expect(consolePaths.length).toBeGreaterThanOrEqual(40);
      for (const path of consolePaths) {
        expect(await connectCall(t.server.url, path), path).toEqual({ status: 401, code: "unauthenticated" });
        expect(await connectCall(t.server.url, path, "wrong-token-0123456789abc"), path).toEqual({
          status: 401,
          code: "unauthenticated",
        });
      }
    });

    it("refuses a publisher key every console call, and a subscriber key the admin services", async () => {
      for (const path of consolePaths) {
        expect(await connectCall(t.server.url, path, keys.publisher), path).toEqual({
          status: 403,
          code: "permission_denied",
        });
        if (path.startsWith("/herald.v1.ConsoleService/")) continue;
        expect(await connectCall(t.server.url, path, keys.alice), path).toEqual({
          status: 403,
          code: "permission_denied",
        });
      }
    });

    it("shows a subscriber key only its own subscriptions, deliveries and dead letters", async () => {
      const portal = client(ConsoleService, keys.alice);
      const caller = await portal.getCaller({});
      expect(caller).toMatchObject({ subscriberName: "alice" });
      const subs = await portal.listCallerSubscriptions({});
      expect(subs.subscriptions.map((s) => s.subscription?.name)).toEqual(["alice-events"]);
      expect(subs.subscriptions[0]?.stats?.deadLettersUnresolved).toBe(1n);
      const own = await portal.listCallerDeadLetters({ subscription: "alice-events" });
      expect(own.deadLetters).toHaveLength(1);
      expect(
        (await portal.listCallerDeliveries({ subscription: "alice-events" })).notificationLogs.length,
      ).toBe(1);
      const history = await portal.getDeliveryHistory({ minutes: 5 });
      expect(history.minutes).toHaveLength(5);
      expect(history.minutes.reduce((sum, m) => sum + m.failed, 0n)).toBe(1n);
      // Bob's things answer exactly like missing ones.
      for (const call of [
        () => portal.listCallerDeadLetters({ subscription: "bob-events" }),
        () => portal.listCallerDeliveries({ subscription: "bob-events" }),
        () => portal.getDeliveryHistory({ subscription: "bob-events" }),
        () => portal.getCallerDeadLetter({ id: bobDeadLetterId }),
      ]) {
        await expect(call()).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.NotFound);
      }
      const mine = await portal.getCallerDeadLetter({ id: own.deadLetters[0]?.id ?? 0n });
      expect(new TextDecoder().decode(mine.deadLetter?.messageData)).toBe("hello portal");
    });

    it.skipIf(!hasChromium)(
      "gives a subscriber key a read-only browser portal of its own subscriptions, and signs out",
      async () => {
        const browser = await launchChromium();
        try {
          const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
          const problems = watchPage(page);
          await page.goto(`${t.server.url}/console/`);
          await page.getByLabel("Admin token or subscriber API key").fill(keys.alice);
          await page.getByRole("button", { name: "Sign in" }).click();
          await page.locator("[data-testid=who]", { hasText: "subscriber alice" }).waitFor();
          await page.locator("[data-testid=subscription-row-alice-events]").waitFor();
          expect(await page.locator("[data-testid=subscription-row-bob-events]").count()).toBe(0);
          // No admin pages in the navigation.
          expect(await page.getByRole("link", { name: "Manage" }).count()).toBe(0);
          await expectNoSeriousA11yViolations(page);
          await screenshot(page, `${kind}-portal`);

          await page.getByRole("link", { name: "alice-events" }).click();
          await page.locator("h2", { hasText: "Unresolved dead letters" }).waitFor();
          const deadLetterLink = page
            .locator("section")
            .filter({ hasText: "Unresolved dead letters" })
            .getByRole("link");
          await deadLetterLink.first().click();
          await page.locator("[data-testid=payload]", { hasText: "hello portal" }).waitFor();
          expect(await page.getByRole("button", { name: "Replay" }).count()).toBe(0);
          await expectNoSeriousA11yViolations(page);
          await screenshot(page, `${kind}-portal-dead-letter`);

          await page.goto(`${t.server.url}/console/#/mine/bob-events`);
          await page.locator(".error", { hasText: "NotFound" }).first().waitFor();

          await page.getByRole("button", { name: "Sign out" }).click();
          await page.getByLabel("Admin token or subscriber API key").waitFor();
          expect(await page.evaluate('sessionStorage.getItem("herald.console.token")')).toBeNull();
          expect(problems).toEqual([]);
        } finally {
          await browser.close();
        }
      },
    );
  },
);

describe("HERALD_CONSOLE_ENABLED=false", () => {
  it("serves no console, while the RPCs answer as before", async () => {
    const [sqlite] = testDatabaseTargets();
    const db = await (sqlite as NonNullable<typeof sqlite>).create();
    const t = await startTestServer(db, {}, { env: { HERALD_CONSOLE_ENABLED: "false" } });
    try {
      expect((await fetch(`${t.server.url}/console/`)).status).toBe(404);
      expect((await fetch(`${t.server.url}/`, { redirect: "manual" })).status).not.toBe(302);
      const caller = await fetch(`${t.server.url}/herald.v1.ConsoleService/GetCaller`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(await caller.json()).toEqual({ kind: "CALLER_KIND_OPEN" });
    } finally {
      await t.stop();
      await db.drop();
    }
  });

  it("is on by default: /console/ is served with a strict Content-Security-Policy", async () => {
    const [sqlite] = testDatabaseTargets();
    const db = await (sqlite as NonNullable<typeof sqlite>).create();
    const t = await startTestServer(db);
    try {
      const root = await fetch(`${t.server.url}/`, { redirect: "manual" });
      expect(root.status).toBe(302);
      expect(root.headers.get("location")).toBe("/console/");
      const index = await fetch(`${t.server.url}/console/`);
      expect(index.status).toBe(200);
      expect(index.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(index.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(await index.text()).toContain('<script type="module" src="app.js"></script>');
      const script = await fetch(`${t.server.url}/console/app.js`);
      expect(script.headers.get("content-type")).toContain("text/javascript");
      expect((await fetch(`${t.server.url}/console/../package.json`)).status).toBe(404);
      expect((await fetch(`${t.server.url}/console/app.js`, { method: "POST" })).status).toBe(405);
    } finally {
      await t.stop();
      await db.drop();
    }
  });
});
