/**
 * The `herald` CLI end to end: the real binary (node bin/herald.js) against a real server with an
 * admin token, on SQLite and MySQL. Every subcommand runs at least once on SQLite; MySQL runs the
 * commands whose results come from storage (admin resources, publish/pull, dead letters, stats).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { type CliRunner, cliRunner, decode, type ReceivedJson, spawnHerald } from "./cli-harness.js";

const ADMIN = "cli-admin-token-0123456789";

// Each command is a process start (node + tsx, about 1.5 s on a busy machine): tests group many.
const CLI_TEST_TIMEOUT_MS = 120_000;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "herald CLI on %s",
  { timeout: CLI_TEST_TIMEOUT_MS },
  (kind, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let cli: CliRunner;
    /** Commands that do not depend on storage run once, on SQLite. */
    const onSqlite = kind === "sqlite" ? it : it.skip;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { env: { HERALD_ADMIN_TOKENS: ADMIN, HERALD_POLL_MAX_MS: "50" } });
      cli = cliRunner(t.server.url, ADMIN);
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("creates, shows, lists, updates and deletes topics, publishers, subscribers and subscriptions", async () => {
      const topic = await cli.json<{ topic: { code: string; isActive: boolean } }>([
        "topics",
        "create",
        "orders.created",
        "--name",
        "Orders",
      ]);
      expect(topic.topic).toMatchObject({ code: "orders.created", isActive: true });
      await cli.json(["topics", "create", "orders.spare", "--name", "Spare"]);

      const created = await cli.json<{
        publisher: { code: string; allowedTopics: string[] };
        apiKey: string;
      }>([
        "publishers",
        "create",
        "orders-svc",
        "--name",
        "Orders service",
        "--allowed-topic",
        "orders.created",
      ]);
      expect(created.publisher).toMatchObject({ code: "orders-svc", allowedTopics: ["orders.created"] });
      expect(created.apiKey).toMatch(/^hpk_/);

      const subscriber = await cli.json<{
        subscriber: { id: string };
        apiKey: string;
        signingSecret: string;
      }>(["subscribers", "create", "--client-id", "7", "--name", "billing"]);
      expect(subscriber.apiKey).toMatch(/^hsk_/);
      expect(subscriber.signingSecret).toMatch(/^whsec_/);
      const subscriberId = subscriber.subscriber.id;
      const subscription = await cli.json<{ subscription: Record<string, unknown> }>([
        "subscriptions",
        "create",
        "billing-orders",
        "--topic",
        "orders.created",
        "--subscriber-id",
        subscriberId,
        "--ack-deadline",
        "20",
        "--message-ttl",
        "2h",
      ]);
      expect(subscription.subscription).toMatchObject({
        name: "billing-orders",
        topic: "orders.created",
        deliveryType: "DELIVERY_TYPE_PULL",
        ackDeadlineSeconds: 20,
        messageTtl: "7200s",
      });

      // Independent reads in parallel: each is a process start.
      const [topicTable, publisherGet, subscriberList, subscriptionList, subscriptionGet] = await Promise.all(
        [
          cli.run(["topics", "list"]),
          cli.json<{ publisher: { name: string } }>(["publishers", "get", "orders-svc"]),
          cli.json<{ subscribers: Array<{ name: string; clientId: string }> }>([
            "subscribers",
            "list",
            "--client-id",
            "7",
          ]),
          cli.run(["subscriptions", "list", "--topic", "orders.created"]),
          cli.run(["subscriptions", "get", "billing-orders"]),
        ],
      );
      expect(topicTable.code).toBe(0);
      expect(topicTable.stdout.split("\n")[0]).toMatch(/^CODE\s+NAME\s+ACTIVE/);
      expect(topicTable.stdout).toMatch(/orders\.created\s+Orders\s+true/);
      expect(publisherGet.publisher.name).toBe("Orders service");
      expect(subscriberList.subscribers).toEqual([
        expect.objectContaining({ name: "billing", clientId: "7" }),
      ]);
      expect(subscriptionList.stdout).toMatch(/billing-orders\s+orders\.created\s+\d+\s+pull\s+active/);
      expect(subscriptionGet.stdout).toMatch(/^ackDeadlineSeconds:\s+20$/m);
      expect(subscriptionGet.stdout).toMatch(/^messageCount:\s+0$/m);

      const [topicUpdate, publisherUpdate, subscriberUpdate, subscriptionUpdate] = await Promise.all([
        cli.json<{ topic: { isActive: boolean; description: string } }>([
          "topics",
          "update",
          "orders.spare",
          "--active",
          "false",
          "--description",
          "unused",
        ]),
        cli.json<{ publisher: { allowedTopics: string[] } }>([
          "publishers",
          "update",
          "orders-svc",
          "--allowed-topic",
          "*",
        ]),
        cli.json<{ subscriber: { name: string } }>([
          "subscribers",
          "update",
          subscriberId,
          "--name",
          "billing-v2",
        ]),
        cli.json<{ subscription: { maxDeliveryAttempts: number; filter: string } }>([
          "subscriptions",
          "update",
          "billing-orders",
          "--max-delivery-attempts",
          "1",
          "--filter",
          'attributes.kind = "order"',
        ]),
      ]);
      expect(topicUpdate.topic).toEqual(expect.objectContaining({ isActive: false, description: "unused" }));
      expect(publisherUpdate.publisher.allowedTopics).toEqual(["*"]);
      expect(subscriberUpdate.subscriber.name).toBe("billing-v2");
      expect(subscriptionUpdate.subscription).toMatchObject({
        maxDeliveryAttempts: 1,
        filter: 'attributes.kind = "order"',
      });

      const [publisherKey, subscriberKey, subscriberSecret] = await Promise.all([
        cli.json<{ apiKey: string; previousKeyExpireTime?: string }>([
          "publishers",
          "rotate-key",
          "orders-svc",
          "--overlap",
          "0",
        ]),
        cli.run(["subscribers", "rotate-key", subscriberId]),
        cli.json<{ signingSecret: string }>([
          "subscribers",
          "rotate-secret",
          subscriberId,
          "--overlap",
          "1h",
        ]),
      ]);
      expect(publisherKey.apiKey).toMatch(/^hpk_/);
      expect(publisherKey.apiKey).not.toBe(created.apiKey);
      expect(subscriberKey.stdout).toMatch(/^API key \(shown once, store it now\): hsk_/m);
      expect(subscriberSecret.signingSecret).toMatch(/^whsec_/);

      // The old publisher key was revoked at once (overlap 0); the new one publishes.
      const oldKey = await cli.run(
        ["publish", "--publisher", "orders-svc", "--topic", "orders.created", "--data", "x"],
        {
          env: { HERALD_TOKEN: created.apiKey },
        },
      );
      expect(oldKey.code).toBe(10 + 16);
      expect(oldKey.stderr).toMatch(/^herald: UNAUTHENTICATED: /);

      // Deletes: a throwaway subscription, subscriber, topic and publisher.
      const spare = await cli.json<{ subscriber: { id: string } }>([
        "subscribers",
        "create",
        "--client-id",
        "9",
        "--name",
        "tmp",
      ]);
      await cli.json([
        "subscriptions",
        "create",
        "tmp-sub",
        "--topic",
        "orders.created",
        "--subscriber-id",
        spare.subscriber.id,
      ]);
      await cli.json(["publishers", "create", "tmp-pub", "--name", "tmp"]);
      const deletes = await Promise.all([
        cli.run(["subscriptions", "delete", "tmp-sub"]),
        cli.run(["topics", "delete", "orders.spare"]),
        cli.run(["publishers", "delete", "tmp-pub"]),
      ]);
      expect(deletes.map((r) => [r.code, r.stdout.trim()])).toEqual([
        [0, 'deleted subscription "tmp-sub"'],
        [0, 'deleted topic "orders.spare"'],
        [0, 'deleted publisher "tmp-pub"'],
      ]);
      const shown = await cli.json<{ subscriptions: Array<{ name: string; isActive: boolean }> }>([
        "subscriptions",
        "list",
        "--show-deleted",
        "--subscriber-id",
        spare.subscriber.id,
      ]);
      expect(shown.subscriptions).toEqual([expect.objectContaining({ name: "tmp-sub", isActive: false })]);
      const subscriberDelete = await cli.run(["subscribers", "delete", spare.subscriber.id]);
      // It still has a (deleted) subscription: the server refuses, and the CLI says so.
      expect(subscriberDelete.code).toBe(10 + 9);
      expect(subscriberDelete.stderr).toMatch(/^herald: FAILED_PRECONDITION: .+\n$/);
    });

    it("publishes from --data and from stdin lines, pulls, nacks and acks", async () => {
      const one = await cli.json<{ messageIds: string[] }>([
        "publish",
        "--publisher",
        "orders-svc",
        "--topic",
        "orders.created",
        "--data",
        "first order",
        "--attr",
        "kind=order",
        "--attr",
        "region=eu",
        "--identifier",
        "order-1",
        "--ordering-key",
        "customer-1",
        "--dedup-id",
        "dedup-1",
      ]);
      expect(one.messageIds).toHaveLength(1);
      const lines = await cli.run(
        [
          "publish",
          "--publisher",
          "orders-svc",
          "--topic",
          "orders.created",
          "--lines",
          "--attr",
          "kind=order",
        ],
        { input: "second\nthird\n\nfourth\n" },
      );
      expect(lines.code).toBe(0);
      expect(lines.stdout.trim().split("\n")).toHaveLength(3);
      // Without --lines, all of stdin is one message.
      const whole = await cli.json<{ messageIds: string[] }>(
        ["publish", "--publisher", "orders-svc", "--topic", "orders.created", "--attr", "kind=order"],
        { input: "multi\nline" },
      );
      expect(whole.messageIds).toHaveLength(1);
      // The filter (attributes.kind = "order") drops this one.
      await cli.json([
        "publish",
        "--publisher",
        "orders-svc",
        "--topic",
        "orders.created",
        "--data",
        "not an order",
      ]);

      const pulled = await cli.jsonLines<ReceivedJson>([
        "pull",
        "billing-orders",
        "--max",
        "10",
        "--wait",
        "5",
      ]);
      expect(pulled.map((r) => decode(r.message.data))).toEqual([
        "first order",
        "second",
        "third",
        "fourth",
        "multi\nline",
      ]);
      expect(pulled[0]?.message).toMatchObject({
        attributes: { kind: "order", region: "eu" },
        identifier: "order-1",
        orderingKey: "customer-1",
      });

      // Ack the first and last, nack the rest (one attempt allowed: dead letters for the next test).
      const ack = await cli.run(["ack", "billing-orders", pulled[0]?.ackId ?? "", pulled[4]?.ackId ?? ""]);
      expect([ack.code, ack.stdout.trim()]).toEqual([0, "acknowledged 2"]);
      const nack = await cli.run(["nack", "billing-orders", ...pulled.slice(1, 4).map((r) => r.ackId)]);
      expect([nack.code, nack.stdout.trim()]).toEqual([0, "released 3"]);

      // A human table, then --ack takes the message off the subscription.
      await cli.json([
        "publish",
        "--publisher",
        "orders-svc",
        "--topic",
        "orders.created",
        "--data",
        "table me",
        "--attr",
        "kind=order",
      ]);
      const table = await cli.run(["pull", "billing-orders", "--wait", "5", "--ack"]);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^MESSAGE ID\s+ATTEMPT\s+IDENTIFIER\s+ATTRIBUTES\s+DATA$/m);
      expect(table.stdout).toMatch(/kind=order\s+table me$/m);
      const empty = await cli.run(["pull", "billing-orders"]);
      expect([empty.code, empty.stdout, empty.stderr]).toEqual([0, "", "no messages\n"]);
    });

    it("lists, shows, counts, replays, resolves and purges dead letters", async () => {
      await t.server.sweepNow();
      type DeadLetterJson = { id: string; subscription: string; failureReason: string; resolved: boolean };
      const { deadLetters } = await eventually(
        () =>
          cli.json<{ deadLetters: DeadLetterJson[] }>(["dlq", "list", "--subscription", "billing-orders"]),
        (r) => r.deadLetters.length === 3,
        20_000,
        "three dead letters",
      );
      expect(deadLetters.every((d) => d.failureReason === "MAX_ATTEMPTS" && !d.resolved)).toBe(true);
      const [first] = deadLetters.map((d) => d.id);

      const [shown, stats, table] = await Promise.all([
        cli.run(["dlq", "get", first ?? ""]),
        cli.json<{ stats: { unresolvedItems: string; topFailureReason: string } }>([
          "dlq",
          "stats",
          "--subscription",
          "billing-orders",
        ]),
        cli.run([
          "dlq",
          "list",
          "--subscription",
          "billing-orders",
          "--reason",
          "MAX_ATTEMPTS",
          "--since",
          "1h",
        ]),
      ]);
      expect(shown.stdout).toMatch(/^messageData:\s+(second|third|fourth)$/m);
      expect(stats.stats).toMatchObject({ unresolvedItems: "3", topFailureReason: "MAX_ATTEMPTS" });
      expect(table.stdout.split("\n").filter((l) => /MAX_ATTEMPTS/.test(l))).toHaveLength(3);

      const resolved = await cli.json<{ resolvedCount: string }>([
        "dlq",
        "resolve",
        first ?? "",
        "--note",
        "known bad",
      ]);
      expect(resolved.resolvedCount).toBe("1");
      const replayed = await cli.json<{ replayedCount: string }>([
        "dlq",
        "replay",
        "--subscription",
        "billing-orders",
        "--since",
        "1h",
      ]);
      expect(replayed.replayedCount).toBe("2");
      const redelivered = await cli.jsonLines<ReceivedJson>([
        "pull",
        "billing-orders",
        "--wait",
        "5",
        "--ack",
      ]);
      expect(redelivered.map((r) => r.message.messageId).sort()).toHaveLength(2);

      const purge = await cli.run(["dlq", "purge", "--subscription", "billing-orders", "--yes"]);
      expect([purge.code, purge.stdout.trim()]).toEqual([0, "purged 3 dead letter(s)"]);
      const after = await cli.json<{ deadLetters: unknown[] }>([
        "dlq",
        "list",
        "--subscription",
        "billing-orders",
      ]);
      expect(after.deadLetters).toEqual([]);
    });

    it("shows a subscription's stats and the server's health", async () => {
      const [stats, human, health] = await Promise.all([
        cli.json<{ subscription: { name: string }; messageCount: string; stats: Record<string, string> }>([
          "stats",
          "billing-orders",
        ]),
        cli.run(["stats", "billing-orders"]),
        cli.run(["health"]),
      ]);
      expect(stats.subscription.name).toBe("billing-orders");
      expect(stats.messageCount).toBe("5");
      expect(stats.stats).toMatchObject({ backlog: "0", inFlight: "0", deadLettersUnresolved: "0" });
      expect(human.stdout).toMatch(/^state:\s+active$/m);
      expect(human.stdout).toMatch(/^backlog:\s+0$/m);
      expect([health.code, health.stdout]).toEqual([0, "SERVING\n"]);
    });

    it("fails with one line on stderr and an exit code of 10 + the gRPC code", async () => {
      const [missing, missingJson, noToken] = await Promise.all([
        cli.run(["stats", "no-such-subscription"]),
        cli.run(["subscriptions", "get", "no-such-subscription", "--json"]),
        cli.run(["topics", "list"], { env: { HERALD_TOKEN: "" } }),
      ]);
      expect(missing.code).toBe(10 + 5);
      expect(missing.stdout).toBe("");
      expect(missing.stderr).toBe(
        'herald: NOT_FOUND: subscription "no-such-subscription" not found (reason SUBSCRIPTION_NOT_FOUND)\n',
      );
      expect([missingJson.code, missingJson.stderr]).toEqual([missing.code, missing.stderr]);
      expect(noToken.code).toBe(10 + 16);
      expect(noToken.stderr).toMatch(/^herald: UNAUTHENTICATED: [^\n]+\n$/);
    });

    onSqlite("tails a subscription as messages arrive and exits 0 on SIGINT", async () => {
      const tail = spawnHerald(["tail", "billing-orders", "--ack", "--json"], cli.env);
      try {
        // Publish until the stream is open and the first message shows (the stream may start after a publish).
        await cli.json([
          "publish",
          "--publisher",
          "orders-svc",
          "--topic",
          "orders.created",
          "--data",
          "live",
          "--attr",
          "kind=order",
        ]);
        await until(() => tail.output.stdout.includes("\n"), 20_000, "a tailed message");
        const [line] = tail.output.stdout.split("\n");
        expect(decode((JSON.parse(line ?? "") as ReceivedJson).message.data)).toBe("live");
        tail.child.kill("SIGINT");
        expect(await tail.exited).toBe(0);
        expect(tail.output.stderr).toBe("");
      } finally {
        if (tail.child.exitCode === null) tail.child.kill("SIGKILL");
      }
      // --ack acknowledged it: nothing left to pull.
      const left = await cli.run(["pull", "billing-orders"]);
      expect(left.stderr).toBe("no messages\n");
    });

    onSqlite("rejects usage errors with exit 2 and an unreachable server with 24", async () => {
      const [unknown, badNumber, noData, purge, unreachable] = await Promise.all([
        cli.run(["topics", "lst"]),
        cli.run(["pull", "billing-orders", "--max", "0"]),
        cli.run(["publish", "--publisher", "orders-svc", "--topic", "orders.created", "--lines"]),
        cli.run(["dlq", "purge"]),
        cli.run(["health"], { env: { HERALD_SERVER: "http://127.0.0.1:1" } }),
      ]);
      expect([unknown.code, unknown.stderr.split("\n")[0]]).toEqual([2, "herald: unknown command 'lst'"]);
      expect(badNumber.code).toBe(2);
      expect(badNumber.stderr).toMatch(/--max <n>.*expected 1\.\.1000/);
      expect([noData.code, noData.stderr]).toEqual([2, "herald: --lines read no message from stdin\n"]);
      expect(purge.code).toBe(2);
      expect(purge.stderr).toMatch(/add --yes/);
      expect(unreachable.code).toBe(10 + 14);
      expect(unreachable.stderr).toMatch(/^herald: UNAVAILABLE: [^\n]+\n$/);
    });
  },
);

describe("herald CLI without a server", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("prints help at every level and a completion script", async () => {
    const cli = cliRunner("http://127.0.0.1:1");
    const [top, dlq, replay, bash, zsh] = await Promise.all([
      cli.run(["--help"]),
      cli.run(["dlq", "--help"]),
      cli.run(["dlq", "replay", "--help"]),
      cli.run(["completion", "bash"]),
      cli.run(["completion", "zsh"]),
    ]);
    expect(top.code).toBe(0);
    for (const command of [
      "publishers",
      "topics",
      "subscribers",
      "subscriptions",
      "publish",
      "pull",
      "tail",
      "dlq",
      "stats",
      "health",
      "completion",
    ]) {
      expect(top.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
    expect(dlq.stdout).toMatch(/^ {2}replay \[options\] \[ids\.\.\.\]/m);
    expect(replay.stdout).toMatch(/--since <time>/);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toMatch(/"dlq replay"\) echo "[^"]*--force/);
    expect(bash.stdout).toContain("complete -o default -F _herald herald");
    expect(zsh.stdout).toMatch(/^autoload -U \+X bashcompinit && bashcompinit$/m);
  });
});
