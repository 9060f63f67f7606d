/**
 * `herald publish --deliver-at`: the CLI schedules a message (RFC 3339 or a duration from now),
 * `herald queue` shows its delivery time, and a time more than 31 days ahead is refused naming
 * the field. `herald reject` dead-letters a pulled message with its reason; `herald subscriptions
 * seek` replays retained acked messages. The CLI does not depend on the backend, so this runs on
 * SQLite only.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryType } from "../../gen/herald/v1/resources_pb.js";
import { createFixture, type Fixture } from "../support/fixtures.js";
import { createHeraldClients } from "../support/herald-clients.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { CLI_TEST_TIMEOUT_MS, type CliRunner, cliRunner } from "./cli-harness.js";

const sqlite = testDatabaseTargets().find((t) => t.kind === "sqlite");

describe("herald publish --deliver-at, reject and subscriptions seek", {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let db: TestDatabase;
  let t: TestServer;
  let cli: CliRunner;
  let f: Fixture;

  beforeAll(async () => {
    if (!sqlite) throw new Error("the SQLite target is always available");
    db = await sqlite.create();
    t = await startTestServer(db);
    cli = cliRunner(t.server.url);
    f = await createFixture(t, { deliveryType: DeliveryType.PULL });
  });
  afterAll(async () => {
    await t?.stop();
    await db?.drop();
  });

  it("schedules a message, shows its time in the queue, and refuses more than 31 days ahead", async () => {
    const deliverAt = new Date(Date.now() + 3_600_000);
    deliverAt.setUTCMilliseconds(0);
    const base = ["publish", "--publisher", f.publisher, "--topic", f.topic];
    const [exact, relative] = await Promise.all([
      cli.json<{ messageIds: string[] }>([...base, "--data", "at", "--deliver-at", deliverAt.toISOString()]),
      cli.json<{ messageIds: string[] }>([...base, "--data", "in", "--deliver-at", "2h"]),
    ]);
    const { queueItems } = await t.admin.listQueueItems({ subscription: f.subscription });
    const times = new Map(
      queueItems.map((q) => [q.messageId, q.deliverTime ? timestampDate(q.deliverTime).getTime() : 0]),
    );
    expect(times.get(exact.messageIds[0] ?? "")).toBe(deliverAt.getTime());
    expect(times.get(relative.messageIds[0] ?? "")).toBeGreaterThan(deliverAt.getTime());
    expect(
      (await t.subscriber.pull({ subscription: f.subscription, maxMessages: 10 })).receivedMessages,
    ).toEqual([]);

    const table = await cli.run(["queue", f.subscription]);
    expect(table.stdout).toContain("DELIVER AT");

    const tooFar = await cli.run([...base, "--data", "x", "--deliver-at", "32d"]);
    expect(tooFar.code).not.toBe(0);
    expect(tooFar.stderr).toContain("messages[0].deliver_at");
  });

  it("rejects a pulled message into the dead-letter queue with its reason", async () => {
    const g = await createFixture(t, { deliveryType: DeliveryType.PULL });
    await g.publish([{ data: new TextEncoder().encode("poison") }]);
    const [delivery] = (await t.subscriber.pull({ subscription: g.subscription, maxMessages: 1 }))
      .receivedMessages;
    const rejected = await cli.run([
      "reject",
      g.subscription,
      delivery?.ackId ?? "",
      "forged",
      "--reason",
      "bad schema",
    ]);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain("rejected 1");
    expect(rejected.stdout).toContain("invalid (lease lost or unknown): forged");
    const { deadLetters } = await createHeraldClients(t.server.url).deadLetters.listDeadLetters({
      filter: { subscription: g.subscription },
    });
    expect(deadLetters.map((d) => [d.failureReason, d.lastError])).toEqual([["REJECTED", "bad schema"]]);
  });

  it("creates a subscription that retains acked messages and seeks it back an hour", async () => {
    const g = await createFixture(t, { deliveryType: DeliveryType.PULL });
    const created = await cli.run([
      "subscriptions",
      "create",
      "cli-seek-sub",
      "--topic",
      g.topic,
      "--subscriber-id",
      String(g.subscriberId),
      "--retain-acked",
      "true",
    ]);
    expect(created.code).toBe(0);
    await t.publisher.publish({
      publisher: g.publisher,
      topic: g.topic,
      messages: [{ data: new TextEncoder().encode("again") }],
    });
    const [delivery] = (await t.subscriber.pull({ subscription: "cli-seek-sub", maxMessages: 1 }))
      .receivedMessages;
    await t.subscriber.acknowledge({ subscription: "cli-seek-sub", ackIds: [delivery?.ackId ?? ""] });
    const seek = await cli.run(["subscriptions", "seek", "cli-seek-sub", "--time", "1h"]);
    expect([seek.code, seek.stdout.trim()]).toEqual([0, "acked 0, requeued 1, replayed 0"]);
    const [again] = (await t.subscriber.pull({ subscription: "cli-seek-sub", maxMessages: 1 }))
      .receivedMessages;
    expect(again?.message?.messageId).toBe(delivery?.message?.messageId);
  });
  it("turns exactly-once delivery on and off, and refuses it for a push subscription", async () => {
    const g = await createFixture(t, { deliveryType: DeliveryType.PULL });
    const base = ["--topic", g.topic, "--subscriber-id", String(g.subscriberId)];
    const created = await cli.run([
      "subscriptions",
      "create",
      "cli-eod-sub",
      ...base,
      "--exactly-once",
      "true",
    ]);
    expect(created.code).toBe(0);
    const enabled = async () =>
      (await t.admin.getSubscription({ name: "cli-eod-sub" })).subscription?.enableExactlyOnceDelivery;
    expect(await enabled()).toBe(true);
    expect((await cli.run(["subscriptions", "update", "cli-eod-sub", "--exactly-once", "false"])).code).toBe(
      0,
    );
    expect(await enabled()).toBe(false);
    const push = await cli.run([
      "subscriptions",
      "create",
      "cli-eod-push",
      ...base,
      "--type",
      "push",
      "--push-endpoint",
      "https://hooks.example.com/in",
      "--exactly-once",
      "true",
    ]);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain("enable_exactly_once_delivery");
  });

  it("creates, lists, updates and deletes a snapshot and seeks a subscription back to it", async () => {
    const g = await createFixture(t, { deliveryType: DeliveryType.PULL });
    await g.publish([{ data: new TextEncoder().encode("kept") }]);
    const created = await cli.json<{
      snapshot: { name: string; topic: string; labels: Record<string, string> };
    }>(["snapshots", "create", "cli-snap", "--subscription", g.subscription, "--label", "env=ci"]);
    expect(created.snapshot).toMatchObject({ name: "cli-snap", topic: g.topic, labels: { env: "ci" } });
    const [delivery] = (await t.subscriber.pull({ subscription: g.subscription, maxMessages: 1 }))
      .receivedMessages;
    await t.subscriber.acknowledge({ subscription: g.subscription, ackIds: [delivery?.ackId ?? ""] });

    const listed = await cli.run(["snapshots", "list", "--topic", g.topic]);
    expect(listed.stdout).toContain("cli-snap");
    expect(listed.stdout).toContain("env=ci");
    const updated = await cli.json<{ snapshot: { labels: Record<string, string> } }>([
      "snapshots",
      "update",
      "cli-snap",
      "--label",
      "team=ops",
      "--expire",
      "2h",
    ]);
    expect(updated.snapshot.labels).toEqual({ team: "ops" });

    const seek = await cli.run(["subscriptions", "seek", g.subscription, "--snapshot", "cli-snap"]);
    expect([seek.code, seek.stdout.trim()]).toEqual([0, "acked 0, requeued 1, replayed 0"]);
    const [again] = (await t.subscriber.pull({ subscription: g.subscription, maxMessages: 1 }))
      .receivedMessages;
    expect(again?.message?.messageId).toBe(delivery?.message?.messageId);

    const both = await cli.run([
      "subscriptions",
      "seek",
      g.subscription,
      "--snapshot",
      "cli-snap",
      "--time",
      "1h",
    ]);
    expect([both.code, both.stderr.trim()]).toEqual([2, "herald: give exactly one of --time and --snapshot"]);
    expect((await cli.run(["snapshots", "delete", "cli-snap"])).stdout.trim()).toBe(
      'deleted snapshot "cli-snap"',
    );
    const gone = await cli.run(["snapshots", "get", "cli-snap"]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("NOT_FOUND");
  });
});
