/**
 * The `herald` CLI end to end: the real binary (node bin/herald.js) against a real server with an
 * admin token, on SQLite and MySQL: publish, pull, ack/nack, tail, dlq, stats, health, errors, help.
 * Every subcommand runs at least once on SQLite; MySQL runs those whose results come from storage.
 * The admin resource commands are in cli-admin.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import {
  ADMIN_TOKEN,
  adminClientFor,
  CLI_TEST_TIMEOUT_MS,
  type CliRunner,
  cliRunner,
  decode,
  type ReceivedJson,
  spawnHerald,
} from "./cli-harness.js";

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
      t = await startTestServer(
        db,
        {},
        { env: { HERALD_ADMIN_TOKENS: ADMIN_TOKEN, HERALD_POLL_MAX_MS: "50" } },
      );
      cli = cliRunner(t.server.url, ADMIN_TOKEN);
      // One attempt, then the dead-letter queue; messages without kind=order are filtered out.
      const admin = adminClientFor(t.server.url, ADMIN_TOKEN);
      await admin.createTopic({ code: "orders.created", name: "Orders" });
      await admin.createPublisher({ code: "orders-svc", name: "Orders", allowedTopics: ["orders.created"] });
      const { subscriber } = await admin.createSubscriber({ clientId: 7n, name: "billing" });
      await admin.createSubscription({
        name: "billing-orders",
        topic: "orders.created",
        subscriberId: subscriber?.id ?? 0n,
        maxDeliveryAttempts: 1,
        filter: 'attributes.kind = "order"',
      });
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
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

    it("shows a subscription's stats, queue and delivery log, and the server's health", async () => {
      type QueueJson = { queueItems: Array<{ status: string; messageId: string }> };
      type LogsJson = {
        notificationLogs: Array<{ deliveryMethod: string; status: string; messageId: string }>;
      };
      const [stats, human, health, queue, queueTable, logs] = await Promise.all([
        cli.json<{ subscription: { name: string }; messageCount: string; stats: Record<string, string> }>([
          "stats",
          "billing-orders",
        ]),
        cli.run(["stats", "billing-orders"]),
        cli.run(["health"]),
        cli.json<QueueJson>(["queue", "billing-orders", "--status", "sent"]),
        cli.run(["queue", "billing-orders"]),
        cli.json<LogsJson>(["logs", "--subscription", "billing-orders", "--method", "pull", "--since", "1h"]),
      ]);
      // Five acked deliveries (two of them replays); the three nacked rows stay dead-lettered.
      expect(queue.queueItems.map((q) => q.status)).toEqual(["sent", "sent", "sent", "sent", "sent"]);
      expect(
        queueTable.stdout.split("\n").filter((l) => /\bdead_lettered\s+1\s+.*\bnack$/.test(l)),
      ).toHaveLength(3);
      const outcomes = logs.notificationLogs.map((l) => l.status).sort();
      expect(outcomes).toEqual(["failed", "failed", "failed", "sent", "sent", "sent", "sent", "sent"]);
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
    const [top, dlq, replay, helpCommand, incomplete, bash, zsh] = await Promise.all([
      cli.run(["--help"]),
      cli.run(["dlq", "--help"]),
      cli.run(["dlq", "replay", "--help"]),
      cli.run(["help", "subscriptions"]),
      cli.run(["subscriptions"]),
      cli.run(["completion", "bash"]),
      cli.run(["completion", "zsh"]),
    ]);
    expect(top.code).toBe(0);
    expect([helpCommand.code, helpCommand.stdout]).toEqual([0, expect.stringContaining("pause") as string]);
    // A command group without its subcommand shows its help on stderr, as a usage error.
    expect([incomplete.code, incomplete.stdout]).toEqual([2, ""]);
    expect(incomplete.stderr).toMatch(/^Usage: herald subscriptions /);
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
