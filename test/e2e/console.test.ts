/**
 * The web console in a real Chromium against the real server (authentication on): sign in, create
 * a topic, a publisher, a subscriber and a subscription through the pages, publish, watch the
 * backlog, dead-letter the message with a nacking consumer, find it, replay it and see it
 * delivered; every page passes axe-core and raises no CSP violation. Screenshots of each page are
 * saved under test-artifacts/console/.
 */
import type { DescService } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { DeadLetterService } from "../../gen/herald/v1/dead_letter_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
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
import { startWebhookSink } from "../support/webhook-sink.js";

const ADMIN = "console-admin-token-0123456789";

/** Waits (polling the live page, which refreshes itself every few seconds) until `text` shows in `selector`. */
async function expectText(
  page: Page,
  selector: string,
  text: string | RegExp,
  timeoutMs = 30_000,
): Promise<void> {
  await page.locator(selector).filter({ hasText: text }).first().waitFor({ timeout: timeoutMs });
}

describe.skipIf(!hasChromium).each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "web console on %s",
  (kind, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let browser: Browser;
    let page: Page;
    let problems: string[];
    let subscriberKey = "";
    let sink: Awaited<ReturnType<typeof startWebhookSink>>;
    /** A client of `service` on the test server, with `token` as its bearer. */
    const client = <S extends DescService>(service: S, token: string) =>
      createClient(
        service,
        createGrpcTransport({ baseUrl: t.server.url, interceptors: [withBearer(token)] }),
      );
    const admin = () => client(AdminService, ADMIN);

    beforeAll(async () => {
      db = await target.create();
      sink = await startWebhookSink(() => ({ status: 204 }));
      t = await startTestServer(
        db,
        {},
        {
          env: {
            HERALD_ADMIN_TOKENS: ADMIN,
            HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
            HERALD_WEBHOOK_ALLOW_HTTP: "true",
          },
        },
      );
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      problems = watchPage(page);
    });
    afterAll(async () => {
      await browser?.close();
      await t?.stop();
      await sink?.close();
      await db?.drop();
    });

    it("asks for a credential, refuses a wrong one and signs in with the admin token", async () => {
      await page.goto(`${t.server.url}/`);
      await page.getByLabel("Admin token or subscriber API key").waitFor();
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `${kind}-sign-in`);
      await page.getByLabel("Admin token or subscriber API key").fill("not-a-valid-token-000000");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expectText(page, ".error", /Unauthenticated/);
      await page.getByLabel("Admin token or subscriber API key").fill(ADMIN);
      await page.getByRole("button", { name: "Sign in" }).click();
      await expectText(page, "[data-testid=who]", "admin");
      await expectText(page, "h1", "Overview");
      // The token lives in this tab's sessionStorage only.
      expect(await page.evaluate('sessionStorage.getItem("herald.console.token")')).toBe(ADMIN);
      expect(await page.evaluate("localStorage.length")).toBe(0);
    });

    it("creates a topic, a publisher, a subscriber and a subscription, showing new secrets once", async () => {
      await page.goto(`${t.server.url}/console/#/manage/topics`);
      await page.getByLabel("Code").fill("console.orders");
      await page.getByRole("button", { name: "Create topic" }).click();
      await expectText(page, "td", "console.orders");
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `${kind}-manage-topics`);

      await page.goto(`${t.server.url}/console/#/manage/publishers`);
      await page.getByLabel("Code").fill("console-shop");
      await page.getByRole("button", { name: "Create publisher" }).click();
      await expectText(page, "[data-testid=secret]", /^hpk_/);
      await page.getByRole("button", { name: "Done" }).click();
      await expectText(page, "td", "console-shop");

      await page.goto(`${t.server.url}/console/#/manage/subscribers`);
      await page.getByLabel("Name", { exact: true }).fill("orders-consumer");
      await page.getByRole("button", { name: "Create subscriber" }).click();
      await expectText(page, "[data-testid=secret]", /API key: hsk_/);
      const secret = (await page.locator("[data-testid=secret]").textContent()) ?? "";
      subscriberKey = /API key: (hsk_\S+)/.exec(secret)?.[1] ?? "";
      expect(subscriberKey).toMatch(/^hsk_/);
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `${kind}-secret-shown-once`);
      await page.getByRole("button", { name: "Done" }).click();

      const { subscribers } = await admin().listSubscribers({});
      const subscriberId = subscribers.find((s) => s.name === "orders-consumer")?.id ?? 0n;
      await page.goto(`${t.server.url}/console/#/manage/subscriptions`);
      await page.getByLabel("Name", { exact: true }).fill("console-orders");
      await page.getByLabel("Subscriber id").fill(String(subscriberId));
      await page.getByLabel("Topic").fill("console.orders");
      await page.getByLabel("Max delivery attempts").fill("1");
      await page.getByRole("button", { name: "Create subscription" }).click();
      await expectText(page, "td", "console-orders");
      const { subscription } = await admin().getSubscription({ name: "console-orders" });
      expect(subscription).toMatchObject({ topic: "console.orders", maxDeliveryAttempts: 1 });
    });

    it("publishes a test message and shows the backlog grow on the overview", async () => {
      await page.goto(`${t.server.url}/console/#/publish`);
      await page.getByLabel("Data (sent as UTF-8)").fill('{"order":42,"item":"tea"}');
      await page.getByLabel("Attributes (one key=value per line)").fill("region=eu");
      await page.getByRole("button", { name: "Publish" }).click();
      await expectText(page, ".notice", /Published message \d+/);
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `${kind}-publish`);

      await page.goto(`${t.server.url}/console/#/`);
      await expectText(page, "[data-testid=subscription-row-console-orders] [data-testid=backlog]", "1");
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `${kind}-overview`);
    });

    it("finds a message a nacking consumer sent to the dead-letter queue, replays it and sees it delivered", async () => {
      const consumer = client(SubscriberService, subscriberKey);
      const pulled = await consumer.pull({ subscription: "console-orders", maxMessages: 10 });
      expect(pulled.receivedMessages).toHaveLength(1);
      await consumer.modifyAckDeadline({
        subscription: "console-orders",
        ackIds: pulled.receivedMessages.map((m) => m.ackId),
        ackDeadlineSeconds: 0,
      });

      await page.goto(`${t.server.url}/console/#/dead-letters?subscription=console-orders`);
      const row = page.locator("tr[data-testid^=dead-letter-]").first();
      await row.waitFor({ timeout: 30_000 });
      await expect.poll(() => row.textContent()).toContain("MAX_ATTEMPTS");
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `${kind}-dead-letters`);

      await row.getByRole("link").click();
      await expectText(page, "[data-testid=payload]", '"order": 42');
      await expectText(page, ".attributes", "region");
      await page.getByRole("radio", { name: "hex" }).check();
      await expectText(page, "[data-testid=payload]", "00000000  7b 22 6f 72");
      await expectText(page, "h2", "Delivery attempts");
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `${kind}-dead-letter`);

      await page.getByRole("button", { name: "Replay" }).click();
      await expectText(page, "[data-testid=confirm-text]", "Replay 1 dead letter to console-orders?");
      await page.getByRole("dialog").getByRole("button", { name: "Replay" }).click();
      await expectText(page, "[data-testid=dead-letter-state]", "resolved by console");

      // Redelivered: the consumer gets it again and acknowledges it.
      const again = await eventually(
        () => consumer.pull({ subscription: "console-orders", maxMessages: 10 }),
        (r) => r.receivedMessages.length === 1,
        20_000,
        "the replayed message",
      );
      expect(new TextDecoder().decode(again.receivedMessages[0]?.message?.data)).toBe(
        '{"order":42,"item":"tea"}',
      );
      await consumer.acknowledge({
        subscription: "console-orders",
        ackIds: again.receivedMessages.map((m) => m.ackId),
      });

      await page.goto(`${t.server.url}/console/#/subscriptions/console-orders`);
      await page.getByLabel("Status").first().selectOption("sent");
      await expectText(page, "section tr", "sent");
      await expectText(page, "[data-testid=backlog]", "0");
      await expectText(page, "figcaption", /1 delivered/);
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `${kind}-subscription`);
    });

    it("pauses a push subscription from its page, edits it, highlights it on the overview, and resumes it", async () => {
      const { subscribers } = await admin().listSubscribers({});
      await admin().createSubscription({
        name: "console-hooks",
        subscriberId: subscribers[0]?.id ?? 0n,
        topic: "console.orders",
        deliveryType: DeliveryType.PUSH,
        pushEndpoint: sink.url,
      });
      await page.goto(`${t.server.url}/console/#/subscriptions/console-hooks`);
      await page.getByRole("button", { name: "Pause" }).click();
      await expectText(page, ".banner", "Paused since");
      expect(
        (await admin().getSubscription({ name: "console-hooks" })).subscription?.pauseTime,
      ).toBeDefined();
      // Settings are edited in place; only the changed field is sent.
      await page.getByText("Edit settings").click();
      await page.getByLabel("Max delivery attempts").fill("7");
      await page.getByRole("button", { name: "Save" }).click();
      const outcome = page.locator("details .notice, details .error").first();
      await outcome.waitFor();
      expect(await outcome.textContent()).toBe("Saved.");
      expect(
        (await admin().getSubscription({ name: "console-hooks" })).subscription?.maxDeliveryAttempts,
      ).toBe(7);
      await page.goto(`${t.server.url}/console/#/`);
      await page.locator("tr.paused[data-testid=subscription-row-console-hooks]").waitFor();
      await page.goto(`${t.server.url}/console/#/subscriptions/console-hooks`);
      await page.getByRole("button", { name: "Resume" }).click();
      await expectText(page, ".banner", "Delivering");
      expect(
        (await admin().getSubscription({ name: "console-hooks" })).subscription?.pauseTime,
      ).toBeUndefined();
    });

    it("replays every unresolved dead letter and purges the resolved ones, stating how many first", async () => {
      const consumer = client(SubscriberService, subscriberKey);
      const publisher = client(PublisherService, ADMIN);
      await publisher.publish({
        publisher: "console-shop",
        topic: "console.orders",
        messages: ["a", "b", "c"].map((x) => ({ data: new TextEncoder().encode(x), identifier: x })),
      });
      const pulled = await eventually(
        () => consumer.pull({ subscription: "console-orders", maxMessages: 10 }),
        (r) => r.receivedMessages.length === 3,
        20_000,
        "three messages",
      );
      await consumer.modifyAckDeadline({
        subscription: "console-orders",
        ackIds: pulled.receivedMessages.map((m) => m.ackId),
        ackDeadlineSeconds: 0,
      });
      const dlq = client(DeadLetterService, ADMIN);
      await eventually(
        () => dlq.getDeadLetterStats({ subscription: "console-orders" }),
        (r) => r.stats?.unresolvedItems === 3n,
        20_000,
        "three unresolved dead letters",
      );

      await page.goto(`${t.server.url}/console/#/dead-letters?subscription=console-orders`);
      await page.getByRole("button", { name: "Replay all unresolved of console-orders" }).click();
      await expectText(
        page,
        "[data-testid=confirm-text]",
        "Replay all 3 unresolved dead letter(s) of console-orders?",
      );
      await page.getByRole("dialog").getByRole("button", { name: "Replay" }).click();
      await expectText(page, ".notice", "Replayed 3 dead letter(s).");
      const again = await eventually(
        () => consumer.pull({ subscription: "console-orders", maxMessages: 10 }),
        (r) => r.receivedMessages.length === 3,
        20_000,
        "the three replayed messages",
      );
      await consumer.acknowledge({
        subscription: "console-orders",
        ackIds: again.receivedMessages.map((m) => m.ackId),
      });

      await page.getByRole("button", { name: "Purge resolved" }).click();
      await expectText(
        page,
        "[data-testid=confirm-text]",
        "Delete 4 resolved dead letter(s) of console-orders for good?",
      );
      await page.getByRole("dialog").getByRole("button", { name: "Purge" }).click();
      await expectText(page, ".notice", "Purged 4 dead letter(s).");
      expect((await dlq.listDeadLetters({ filter: { subscription: "console-orders" } })).deadLetters).toEqual(
        [],
      );
    });

    it("takes a snapshot, turns exactly-once delivery on, and seeks the subscription back to the snapshot", async () => {
      const consumer = client(SubscriberService, subscriberKey);
      const publisher = client(PublisherService, ADMIN);
      await publisher.publish({
        publisher: "console-shop",
        topic: "console.orders",
        messages: [{ data: new TextEncoder().encode("kept by the snapshot"), identifier: "snap" }],
      });

      await page.goto(`${t.server.url}/console/#/subscriptions/console-orders`);
      await page.getByLabel("New snapshot of this subscription").fill("console-snap");
      await page.getByRole("button", { name: "Take snapshot" }).click();
      await expectText(page, ".notice", "Snapshot console-snap taken.");
      await expectText(page, "section tr", "console-snap");

      // Acked after the snapshot: only a seek back brings it again.
      const first = await eventually(
        () => consumer.pull({ subscription: "console-orders", maxMessages: 10 }),
        (r) => r.receivedMessages.length === 1,
        20_000,
        "the published message",
      );
      await consumer.acknowledge({
        subscription: "console-orders",
        ackIds: first.receivedMessages.map((m) => m.ackId),
      });

      await page.getByText("Edit settings").click();
      await page.getByLabel("Exactly-once delivery").check();
      await page.getByRole("button", { name: "Save" }).click();
      await expectText(page, "details .notice", "Saved.");
      expect(
        (await admin().getSubscription({ name: "console-orders" })).subscription?.enableExactlyOnceDelivery,
      ).toBe(true);
      await expectText(page, "table.config tr", /Exactly-once delivery\s*on/);

      await page.getByRole("button", { name: "Seek here" }).click();
      await expectText(page, "[data-testid=confirm-text]", "Seek console-orders to snapshot console-snap?");
      await page.getByRole("dialog").getByRole("button", { name: "Seek" }).click();
      await expectText(page, ".notice", /Sought to console-snap: 1 made deliverable again/);
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `${kind}-subscription-snapshots`);

      const again = await eventually(
        () => consumer.pull({ subscription: "console-orders", maxMessages: 10 }),
        (r) => r.receivedMessages.length === 1,
        20_000,
        "the message again after the seek",
      );
      expect(new TextDecoder().decode(again.receivedMessages[0]?.message?.data)).toBe("kept by the snapshot");
      const acked = await consumer.acknowledge({
        subscription: "console-orders",
        ackIds: again.receivedMessages.map((m) => m.ackId),
      });
      expect(acked.invalidAckIds).toEqual([]);
    });

    it("raised no script error and no CSP violation on any page", () => {
      expect(problems).toEqual([]);
    });
  },
);
