/**
 * Hostile input against every RPC of AdminService, PublisherService, SubscriberService,
 * DeadLetterService, ConsoleService and grpc.health.v1 Check, on SQLite and MySQL:
 *  - gRPC through a raw HTTP/2 client (hand-made frames: truncated, lying length prefixes,
 *    compressed flags, > 12 MiB, invalid protobuf, wrong content types),
 *  - Connect JSON (wrong types, invalid UTF-8, unknown fields and enum values, int64 overflow,
 *    huge and negative numbers, empty and ~10 MiB strings, arrays for scalars, deep nesting),
 *  - semantic attacks through the generated clients (forged, stale and foreign ack ids, page tokens
 *    of other lists, SQL and glob metacharacters, control characters, int64 edge ids).
 * Every case must get a status that blames the client (never INTERNAL), leak no stack trace, SQL or
 * path, leave the server answering health Check, and leave the database unchanged when rejected.
 * Defects found and reported but not yet fixed are listed in test/support/known-server-defects.ts.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { ConsoleService } from "../../gen/herald/v1/console_service_pb.js";
import { DeadLetterService, ResolutionFilter } from "../../gen/herald/v1/dead_letter_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";
import { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";
import { decodeAckId } from "../../src/app/consume/ack-id.js";
import { matchesIdentifier } from "../../src/domain/identifier-filter.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { createHeraldClients, type HeraldTestClients } from "../support/herald-clients.js";
import { type HostileCase, type MethodTarget, rpcPath } from "../support/hostile-case.js";
import { fieldValueCases, hugeStringCases, wireCases } from "../support/hostile-field-cases.js";
import {
  createHostileFixture,
  FORGED_ACK_ID,
  type HostileFixture,
  methodTargets,
} from "../support/hostile-fixture.js";
import { connectFramingCases, grpcFramingCases } from "../support/hostile-framing-cases.js";
import type { CaseResult } from "../support/hostile-runner.js";
import { HostileRunner } from "../support/hostile-runner.js";
import { INT64_MAX } from "../support/hostile-values.js";
import { type KnownDefect, knownDefectsFor } from "../support/known-server-defects.js";
import { RawHttp2Client } from "../support/raw-http2-client.js";
import { describeOutcome, OK } from "../support/rpc-outcome.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** Every RPC under test: all methods of Herald's five services, plus grpc.health.v1 Check. */
const METHODS: readonly DescMethod[] = [
  ...AdminService.methods,
  ...PublisherService.methods,
  ...SubscriberService.methods,
  ...DeadLetterService.methods,
  ...ConsoleService.methods,
  Health.method.check,
];

const READ_ONLY = new Set([
  "GetPublisher",
  "ListPublishers",
  "GetTopic",
  "ListTopics",
  "GetSubscriber",
  "ListSubscribers",
  "GetSubscription",
  "ListSubscriptions",
  "GetSnapshot",
  "ListSnapshots",
  "GetSubscriptionStats",
  "ListQueueItems",
  "ListNotificationLogs",
  "ListDeadLetters",
  "GetDeadLetter",
  "GetDeadLetterStats",
  "GetCaller",
  "GetDeliveryHistory",
  "ListCallerSubscriptions",
  "ListCallerDeliveries",
  "ListCallerDeadLetters",
  "GetCallerDeadLetter",
  "Check",
]);

/**
 * RPCs that get every framing case and a ~10 MiB string in a key field; the others get the core
 * framing cases. Framing is code shared by every RPC, so a few RPCs of each service carry the rest.
 */
const FULL_FRAMING = new Set([
  "Publish",
  "CreateTopic",
  "GetSubscription",
  "Subscribe",
  "Acknowledge",
  "ListDeadLetters",
  "Check",
]);
/** RPCs that also get the cases moving tens of MiB (gzip bombs, > 12 MiB bodies) or parsing 100k-deep JSON. */
const HEAVY = new Set(["Publish", "GetSubscription", "Check"]);

/** Every table-driven case for one RPC request base, both protocols. */
function casesFor(target: MethodTarget): HostileCase[] {
  const full = FULL_FRAMING.has(target.method.name);
  const heavy = HEAVY.has(target.method.name);
  return [
    ...grpcFramingCases(target, { full, heavy }),
    ...connectFramingCases(target, { full, heavy }),
    ...fieldValueCases(target),
    ...wireCases(target),
    // Over gRPC once: an echoed 10 MiB grpc-message trailer takes seconds to fail.
    ...(full ? hugeStringCases(target, { grpc: target.method.name === "Publish" }) : []),
  ];
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url");
const show = (s: string) => JSON.stringify(s).replace(/\\u0000/g, "\\u0000");

/** Totals over both databases, printed at the end for the issue note. */
const grandTotals = new Map<string, number>();

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "hostile input on %s",
  (kind, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let clients: HeraldTestClients;
    let raw: RawHttp2Client;
    let healthRaw: RawHttp2Client;
    let runner: HostileRunner;
    let fx: HostileFixture;
    const knownDefects = knownDefectsFor(kind);
    /** Known-defect id → failing cases it explained. */
    const knownHits = new Map<string, string[]>();
    let routingChecks = 0;

    /** Splits failures into known defects (tallied) and the rest, which fail the test. */
    function unexpectedFailures(results: readonly CaseResult[]): string[] {
      const unexpected: string[] = [];
      for (const result of results) {
        if (result.problems.length === 0) continue;
        const known: KnownDefect | undefined = knownDefects.find((d) => d.matches(result));
        if (known) knownHits.set(known.id, [...(knownHits.get(known.id) ?? []), result.id]);
        else
          unexpected.push(
            `${result.id} → ${describeOutcome(result.outcome)}: ${result.problems.join(" | ")}`,
          );
      }
      return unexpected;
    }

    /** `count` fresh unresolved dead letters on hostile-dlq: publish, pull, nack (one attempt allowed). */
    async function freshDeadLetters(count: number): Promise<bigint[]> {
      const { publisher, subscriber, deadLetters } = clients;
      const data = (i: number) => new TextEncoder().encode(`dead-${i}`);
      await publisher.publish({
        publisher: "hostile-pub",
        topic: "hostile.dlq",
        messages: Array.from({ length: count }, (_, i) => ({ data: data(i) })),
      });
      const pulled = await subscriber.pull({ subscription: "hostile-dlq", maxMessages: 1000 });
      await subscriber.modifyAckDeadline({
        subscription: "hostile-dlq",
        ackIds: pulled.receivedMessages.map((m) => m.ackId),
        ackDeadlineSeconds: 0,
      });
      const dead = await deadLetters.listDeadLetters({
        filter: { subscription: "hostile-dlq", resolution: ResolutionFilter.UNRESOLVED },
        pageSize: count,
      });
      expect(dead.deadLetters).toHaveLength(count);
      await runner.resync();
      return dead.deadLetters.map((d) => d.id);
    }

    beforeAll(async () => {
      db = await target.create();
      // No background writes while cases run: sweeps and retention far apart, no push deliveries.
      t = await startTestServer(db, { sweepIntervalMs: 3_600_000, retentionIntervalMs: 3_600_000 });
      clients = createHeraldClients(t.server.url);
      raw = new RawHttp2Client(t.server.url);
      fx = await createHostileFixture(clients);
      healthRaw = new RawHttp2Client(t.server.url);
      runner = new HostileRunner({ raw, healthRaw, knex: (t.server.store as KnexStore).knex });
      await runner.resync();
    });

    afterAll(async () => {
      raw?.close();
      healthRaw?.close();
      await t?.stop();
      await db?.drop();
      if (!runner) return;
      const counts = Object.fromEntries(runner.counts);
      const total = [...runner.counts.values()].reduce((a, b) => a + b, 0) + routingChecks;
      for (const [k, n] of [...runner.counts, ["routing", routingChecks] as const]) {
        grandTotals.set(k, (grandTotals.get(k) ?? 0) + n);
      }
      const known = [...knownHits]
        .map(([id, cases]) => `${id}: ${cases.length} (e.g. ${cases[0]})`)
        .join(", ");
      console.log(
        `hostile input on ${kind}: ${total} cases tried (gRPC ${counts.grpc ?? 0}, Connect ${counts.connect ?? 0}, ` +
          `generated client ${counts.client ?? 0}, routing checks ${routingChecks}); known defects hit: ${known || "none"}; ` +
          `time in ms: ${[...runner.timings].map(([k, ms]) => `${k} ${Math.round(ms)}`).join(", ")}; slowest: ` +
          runner.slowest.map(([ms, id]) => `${Math.round(ms)} ms ${id}`).join("; "),
      );
    });

    describe("malformed and adversarial requests to every RPC", () => {
      it.each(METHODS.map((m) => [rpcPath(m).slice(1), m] as const))(
        "%s answers every case with a client-blaming status and changes nothing when it refuses",
        async (_path, method) => {
          const targets = methodTargets(METHODS, fx).filter((x) => x.method === method);
          const results: CaseResult[] = [];
          for (const methodTarget of targets) {
            results.push(...(await runner.run(casesFor(methodTarget), !READ_ONLY.has(method.name))));
          }
          // A request without fields (GetCaller) gets the framing cases only.
          expect(results.length).toBeGreaterThan(method.input.fields.length === 0 ? 10 : 20);
          expect(unexpectedFailures(results)).toEqual([]);
        },
      );
    });

    describe("semantic attacks through the generated clients", () => {
      it("reports forged, malformed and out-of-range ack ids as invalid and changes nothing", async () => {
        const { admin, publisher, subscriber } = clients;
        await admin.createSubscription({
          name: "hostile-lease",
          subscriberId: fx.subscriberId,
          topic: "hostile.lease",
          ackDeadlineSeconds: 600,
          minBackoff: { seconds: 0n },
          maxBackoff: { seconds: 0n },
        });
        await admin.createSubscription({
          name: "hostile-lease-other",
          subscriberId: fx.subscriberId,
          topic: "hostile.lease",
        });
        await publisher.publish({
          publisher: "hostile-pub",
          topic: "hostile.lease",
          messages: [{ data: new Uint8Array([7]) }],
        });
        const [mine] = (await subscriber.pull({ subscription: "hostile-lease", maxMessages: 1 }))
          .receivedMessages;
        const [theirs] = (await subscriber.pull({ subscription: "hostile-lease-other", maxMessages: 1 }))
          .receivedMessages;
        const real = decodeAckId(mine?.ackId ?? "");
        const other = decodeAckId(theirs?.ackId ?? "");
        if (!real || !other) throw new Error("fixture: pulls returned no decodable ack ids");
        await runner.resync();
        const ackId = mine?.ackId ?? "";
        const enc = (queueId: bigint, leaseToken: bigint) => {
          const bytes = Buffer.alloc(16);
          bytes.writeBigUInt64BE(queueId, 0);
          bytes.writeBigUInt64BE(leaseToken, 8);
          return bytes.toString("base64url");
        };
        const forged: [string, string][] = [
          ["empty", ""],
          ["a word", "forged"],
          ["22 A's", "A".repeat(22)],
          ["base64 with padding", `${ackId.slice(0, 21)}=`],
          ["standard alphabet", "+/+/+/+/+/+/+/+/+/+/+/"],
          ["queue id 0", enc(0n, real.leaseToken)],
          ["lease token 0", enc(real.queueId, 0n)],
          ["queue id 2^63", enc(2n ** 63n, real.leaseToken)],
          ["queue id 2^64-1", enc(2n ** 64n - 1n, 1n)],
          ["right row, next lease token", enc(real.queueId, real.leaseToken + 1n)],
          ["right row, previous lease token", enc(real.queueId, real.leaseToken - 1n)],
          ["right row, token 2^64-1", enc(real.queueId, 2n ** 64n - 1n)],
          ["other subscription's row, our token", enc(other.queueId, real.leaseToken)],
          ["non-canonical last character", `${ackId.slice(0, 21)}${ackId.endsWith("A") ? "B" : "A"}`],
          ["23 characters", `${ackId}A`],
          ["21 characters", ackId.slice(0, 21)],
          ["NUL inside", `${ackId.slice(0, 21)}\u0000`],
          ["SQL", "' OR 1=1 --"],
          ["LIKE wildcard", "%"],
          ["glob star", "*"],
          ["unicode look-alikes", "ÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅÅ"],
          ["64 KiB", "A".repeat(65_536)],
        ];
        const results: CaseResult[] = [];
        const leasedStill = async () => {
          const items = await admin.listQueueItems({ subscription: "hostile-lease", status: "leased" });
          return items.queueItems.some((q) => q.id === real.queueId) ? [] : ["the real lease is gone"];
        };
        for (const [name, id] of forged) {
          results.push(
            await runner.runCall(
              `Acknowledge forged ack id (${name})`,
              () => subscriber.acknowledge({ subscription: "hostile-lease", ackIds: [id] }),
              {
                mutating: false,
                expectCodes: [OK],
                echoes: [id],
                verify: (r) =>
                  r?.invalidAckIds.includes(id)
                    ? []
                    : [`forged id not reported invalid: ${JSON.stringify(r?.invalidAckIds).slice(0, 80)}`],
              },
            ),
          );
          for (const seconds of [0, 600]) {
            results.push(
              await runner.runCall(
                `ModifyAckDeadline(${seconds}) forged ack id (${name})`,
                () =>
                  subscriber.modifyAckDeadline({
                    subscription: "hostile-lease",
                    ackIds: [id],
                    ackDeadlineSeconds: seconds,
                  }),
                {
                  mutating: false,
                  expectCodes: [OK],
                  echoes: [id],
                  verify: async (r) => [
                    ...(r?.invalidAckIds.includes(id) ? [] : ["forged id not reported invalid"]),
                    ...(await leasedStill()),
                  ],
                },
              ),
            );
          }
        }
        // Lease tokens far above any real one: a guessable (queue id, token) pair would be a real ack.
        const tooMany = Array.from({ length: 10_001 }, (_, i) => enc(BigInt(i + 1), 2n ** 62n + BigInt(i)));
        results.push(
          await runner.runCall(
            "Acknowledge 10001 ack ids",
            () => subscriber.acknowledge({ subscription: "hostile-lease", ackIds: tooMany }),
            {
              mutating: true,
              expectCodes: [Code.InvalidArgument],
            },
          ),
          await runner.runCall(
            "Acknowledge 10000 forged ack ids",
            () => subscriber.acknowledge({ subscription: "hostile-lease", ackIds: tooMany.slice(0, 10_000) }),
            {
              mutating: false,
              expectCodes: [OK],
              verify: (r) =>
                r?.invalidAckIds.length === 10_000
                  ? []
                  : [`${r?.invalidAckIds.length} of 10000 reported invalid`],
            },
          ),
        );
        for (const seconds of [-1, 601, 2_147_483_647, -2_147_483_648]) {
          results.push(
            await runner.runCall(
              `ModifyAckDeadline ack_deadline_seconds=${seconds}`,
              () =>
                subscriber.modifyAckDeadline({
                  subscription: "hostile-lease",
                  ackIds: [ackId],
                  ackDeadlineSeconds: seconds,
                }),
              { mutating: true, expectCodes: [Code.InvalidArgument] },
            ),
          );
        }
        expect(unexpectedFailures(results)).toEqual([]);
        expect(await leasedStill()).toEqual([]);
      });

      it("fences stale ack ids and ack ids of other subscriptions", async () => {
        const { admin, publisher, subscriber } = clients;
        await publisher.publish({
          publisher: "hostile-pub",
          topic: "hostile.lease",
          messages: [{ data: new Uint8Array([8]) }],
        });
        // Drain everything outstanding, then take the new message twice: first delivery, nack, redelivery.
        const first = (
          await subscriber.pull({ subscription: "hostile-lease", maxMessages: 10 })
        ).receivedMessages.find((m) => m.message?.data[0] === 8);
        await subscriber.modifyAckDeadline({
          subscription: "hostile-lease",
          ackIds: [first?.ackId ?? ""],
          ackDeadlineSeconds: 0,
        });
        const second = (
          await subscriber.pull({ subscription: "hostile-lease", maxMessages: 10 })
        ).receivedMessages.find((m) => m.message?.data[0] === 8);
        expect(second?.deliveryAttempt).toBe(2);
        const stale = first?.ackId ?? "";
        const fresh = second?.ackId ?? "";
        const freshRef = decodeAckId(fresh);
        await runner.resync();
        const stillLeased = async () => {
          const items = await admin.listQueueItems({ subscription: "hostile-lease", status: "leased" });
          return items.queueItems.some((q) => q.id === freshRef?.queueId)
            ? []
            : ["the fresh lease was touched"];
        };
        const invalid = (id: string) => async (r: { invalidAckIds: string[] } | undefined) => [
          ...(r?.invalidAckIds.includes(id) ? [] : [`${id} not reported invalid`]),
          ...(await stillLeased()),
        ];
        const results: CaseResult[] = [];
        const call = (
          name: string,
          subscription: string,
          id: string,
          seconds?: number,
          expectCodes: Code[] = [OK],
        ) =>
          runner.runCall(
            name,
            () =>
              seconds === undefined
                ? subscriber.acknowledge({ subscription, ackIds: [id] })
                : subscriber.modifyAckDeadline({ subscription, ackIds: [id], ackDeadlineSeconds: seconds }),
            { mutating: false, expectCodes, ...(expectCodes[0] === OK ? { verify: invalid(id) } : {}) },
          );
        results.push(
          await call("Acknowledge a stale ack id", "hostile-lease", stale),
          await call("ModifyAckDeadline(600) a stale ack id", "hostile-lease", stale, 600),
          await call("ModifyAckDeadline(0) a stale ack id", "hostile-lease", stale, 0),
          await call(
            "Acknowledge our ack id on the other subscription of the topic",
            "hostile-lease-other",
            fresh,
          ),
          await call(
            "ModifyAckDeadline(0) our ack id on the other subscription",
            "hostile-lease-other",
            fresh,
            0,
          ),
          await call("Acknowledge our ack id on a subscription of another topic", "hostile-quiet", fresh),
          await call("Acknowledge on a PUSH subscription", "hostile-push", fresh, undefined, [
            Code.FailedPrecondition,
          ]),
          await call("Acknowledge on an unknown subscription", "hostile-nope", fresh, undefined, [
            Code.NotFound,
          ]),
          await call("Acknowledge on a LIKE pattern of the subscription", "hostile-leas_", fresh, undefined, [
            Code.NotFound,
          ]),
        );
        results.push(
          await runner.runCall(
            "Acknowledge the fresh ack id",
            () => subscriber.acknowledge({ subscription: "hostile-lease", ackIds: [fresh] }),
            {
              mutating: true,
              expectCodes: [OK],
              verify: (r) => (r?.invalidAckIds.length === 0 ? [] : ["the fresh ack id was refused"]),
            },
          ),
          await runner.runCall(
            "Acknowledge the fresh ack id again",
            () => subscriber.acknowledge({ subscription: "hostile-lease", ackIds: [fresh] }),
            {
              mutating: false,
              expectCodes: [OK],
              verify: (r) => (r?.invalidAckIds.length === 0 ? [] : ["a repeated ack was reported invalid"]),
            },
          ),
          await runner.runCall(
            "Acknowledge the stale ack id after the ack",
            () => subscriber.acknowledge({ subscription: "hostile-lease", ackIds: [stale] }),
            {
              mutating: false,
              expectCodes: [OK],
            },
          ),
        );
        expect(unexpectedFailures(results)).toEqual([]);
      });

      it("refuses page tokens of other lists and forged tokens with INVALID_ARGUMENT", async () => {
        const { admin, deadLetters } = clients;
        await freshDeadLetters(2);
        type Lister = (pageSize: number, pageToken: string) => Promise<{ nextPageToken: string }>;
        const lists: Record<string, Lister> = {
          publishers: (pageSize, pageToken) => admin.listPublishers({ pageSize, pageToken }),
          topics: (pageSize, pageToken) => admin.listTopics({ pageSize, pageToken }),
          subscribers: (pageSize, pageToken) => admin.listSubscribers({ pageSize, pageToken }),
          subscriptions: (pageSize, pageToken) =>
            admin.listSubscriptions({ pageSize, pageToken, showDeleted: true }),
          queue_items: (pageSize, pageToken) =>
            admin.listQueueItems({ subscription: "hostile-sink", pageSize, pageToken }),
          notification_logs: (pageSize, pageToken) => admin.listNotificationLogs({ pageSize, pageToken }),
          dead_letters: (pageSize, pageToken) => deadLetters.listDeadLetters({ pageSize, pageToken }),
        };
        const tokens: Record<string, string> = {};
        for (const [name, list] of Object.entries(lists)) {
          tokens[name] = (await list(1, "")).nextPageToken;
          expect(tokens[name], `fixture: ${name} needs two rows`).not.toBe("");
        }
        const results: CaseResult[] = [];
        const invalidToken = { mutating: false, expectCodes: [Code.InvalidArgument] };
        for (const [name, list] of Object.entries(lists)) {
          const own = tokens[name] as string;
          for (const [otherName, token] of Object.entries(tokens)) {
            if (otherName === name) continue;
            results.push(
              await runner.runCall(
                `${name} with a page token of ${otherName}`,
                () => list(10, token),
                invalidToken,
              ),
            );
          }
          const forged: [string, string][] = [
            ["punctuation", "!!!"],
            ["one character", "a"],
            ["no id", b64(`${name}:`)],
            ["negative id", b64(`${name}:-1`)],
            ["SQL after the id", b64(`${name}:1 OR 1=1`)],
            ["id 2^63", b64(`${name}:9223372036854775808`)],
            ["20-digit id", b64(`${name}:99999999999999999999`)],
            ["two ids", b64(`${name}:1:2`)],
            ["upper-case list", b64(`${name.toUpperCase()}:1`)],
            ["LIKE wildcard list", b64(`%:1`)],
            ["201 characters", "x".repeat(201)],
            [
              "own token in standard base64",
              `${Buffer.from(own, "base64url").toString("base64").replace(/=+$/, "")}+`,
            ],
          ];
          for (const [what, token] of forged) {
            results.push(
              await runner.runCall(`${name} with a forged page token (${what})`, () => list(10, token), {
                ...invalidToken,
                echoes: [token],
              }),
            );
          }
          // Well-formed tokens are only cursors: any id is fine. A character more may only change
          // unused base64 bits (the same token) or make it invalid.
          for (const [what, token] of [
            ["id 0", b64(`${name}:0`)],
            ["id 2^63-1", b64(`${name}:${INT64_MAX}`)],
          ] as const) {
            results.push(
              await runner.runCall(`${name} with a well-formed page token (${what})`, () => list(10, token), {
                mutating: false,
                expectCodes: [OK],
              }),
            );
          }
          results.push(
            await runner.runCall(
              `${name} with its own page token plus a character`,
              () => list(10, `${own}A`),
              {
                mutating: false,
                expectCodes: [OK, Code.InvalidArgument],
              },
            ),
          );
          for (const size of [-1, 1001, 2_147_483_647, -2_147_483_648]) {
            results.push(
              await runner.runCall(`${name} with page_size ${size}`, () => list(size, ""), invalidToken),
            );
          }
        }
        expect(unexpectedFailures(results)).toEqual([]);
      });

      it("routes identifiers with SQL, LIKE and GLOB metacharacters exactly like the domain glob", async () => {
        const { admin, publisher } = clients;
        const filters = [
          "",
          "*",
          "%",
          "_",
          "a%b",
          "a_b",
          "a\\b",
          "\\",
          "\\%",
          "'",
          "''",
          '"; DROP TABLE messages; --',
          "*%*",
          "*_*",
          "*\\*",
          "a*b",
          "[ab]*",
          "?",
          "a?c",
          "*'*",
          "100%",
          "user-*-eu",
          "é*",
          "😀*",
          "user-1",
          "a",
          "*.*",
          "^a$",
          "a|b",
          "(a)",
        ];
        const identifiers = [
          "%",
          "_",
          "a%b",
          "aXb",
          "a_b",
          "ab",
          "a\\b",
          "a\\\\b",
          "\\",
          "\\%",
          "\\x",
          "'",
          "''",
          '"; DROP TABLE messages; --',
          "x%y",
          "x_y",
          "xy",
          "a*b",
          "a123b",
          "[ab]x",
          "ax",
          "bx",
          "?",
          "a?c",
          "abc",
          "it's",
          "100%",
          "1000",
          "user-1-eu",
          "user--eu",
          "user-1",
          "user-1 ",
          "USER-1",
          "é",
          "éa",
          "e\u0301",
          "😀x",
          "",
          "a",
          "a\u0000b",
          "user-1\u0000x",
          "^a$",
          "a|b",
          "(a)",
          ".x",
          "a.b",
          "A",
        ];
        const names = filters.map((_, i) => `hostile-glob-${i}`);
        for (const [i, identifier] of filters.entries()) {
          await admin.createSubscription({
            name: names[i] as string,
            subscriberId: fx.subscriberId,
            topic: "hostile.glob",
            identifier,
          });
        }
        // Identifiers with control characters go one by one: Herald may refuse them (then they
        // route nowhere); if it takes them, they must route like the domain glob says.
        const results: CaseResult[] = [];
        const isControl = (id: string) =>
          [...id].some(
            (ch) =>
              (ch.codePointAt(0) ?? 0) <= 0x1f ||
              ((ch.codePointAt(0) ?? 0) >= 0x7f && (ch.codePointAt(0) ?? 0) <= 0x9f),
          );
        const { messageIds } = await publisher.publish({
          publisher: "hostile-pub",
          topic: "hostile.glob",
          messages: identifiers
            .filter((id) => !isControl(id))
            .map((identifier) => ({ data: new Uint8Array([1]), identifier })),
        });
        const idOf = new Map(
          messageIds.map((id, i) => [id, identifiers.filter((x) => !isControl(x))[i] as string]),
        );
        await runner.resync();
        for (const identifier of identifiers.filter(isControl)) {
          results.push(
            await runner.runCall(
              `Publish identifier ${show(identifier)} for routing`,
              () =>
                publisher.publish({
                  publisher: "hostile-pub",
                  topic: "hostile.glob",
                  messages: [{ data: new Uint8Array([1]), identifier }],
                }),
              {
                mutating: true,
                expectCodes: [OK, Code.InvalidArgument],
                echoes: [identifier],
                verify: (r) => {
                  for (const id of r?.messageIds ?? []) idOf.set(id, identifier);
                  return [];
                },
              },
            ),
          );
        }
        const accepted = new Set(idOf.values());
        for (const [i, filter] of filters.entries()) {
          const items = await admin.listQueueItems({ subscription: names[i] as string, pageSize: 1000 });
          const routed = new Set(items.queueItems.map((q) => idOf.get(q.messageId)));
          for (const identifier of identifiers.filter((id) => accepted.has(id))) {
            routingChecks += 1;
            const expected = matchesIdentifier(filter, identifier);
            const actual = routed.has(identifier);
            results.push({
              id: `routing filter ${show(filter)} identifier ${show(identifier)}`,
              protocol: "client",
              outcome: { kind: "status", code: OK, message: "", httpStatus: 200 },
              problems: expected === actual ? [] : [`routed=${actual} but matchesIdentifier=${expected}`],
            });
          }
        }
        await runner.resync();
        expect(unexpectedFailures(results)).toEqual([]);
      });

      it("looks codes and names up exactly: no pattern, case or padding matches", async () => {
        const { admin, publisher, subscriber, deadLetters } = clients;
        // A near miss must never find the entity: NOT_FOUND, or INVALID_ARGUMENT when it is not even
        // a well-formed code or name.
        const miss = [Code.NotFound, Code.InvalidArgument];
        const variants = (base: string): [string, string, Code[]][] => [
          ["trailing space", `${base} `, miss],
          ["leading space", ` ${base}`, miss],
          ["upper case", base.toUpperCase(), miss],
          ["last character as _", `${base.slice(0, -1)}_`, miss],
          ["prefix and %", `${base.slice(0, 4)}%`, miss],
          ["trailing NUL", `${base}\u0000`, miss],
          ["trailing no-break space", `${base}\u00a0`, miss],
        ];
        type Lookup = [rpc: string, base: string, mutating: boolean, call: (key: string) => Promise<unknown>];
        const lookups: Lookup[] = [
          ["GetPublisher code", "hostile-pub", false, (code) => admin.getPublisher({ code })],
          ["GetTopic code", "hostile.topic", false, (code) => admin.getTopic({ code })],
          ["GetSubscription name", "hostile-sink", false, (name) => admin.getSubscription({ name })],
          [
            "GetSubscriptionStats name",
            "hostile-sink",
            false,
            (name) => admin.getSubscriptionStats({ name }),
          ],
          [
            "ListQueueItems subscription",
            "hostile-sink",
            false,
            (s) => admin.listQueueItems({ subscription: s }),
          ],
          ["ListSubscriptions topic", "hostile.topic", false, (topic) => admin.listSubscriptions({ topic })],
          [
            "ListNotificationLogs subscription",
            "hostile-dlq",
            false,
            (s) => admin.listNotificationLogs({ subscription: s }),
          ],
          [
            "ListDeadLetters filter.subscription",
            "hostile-dlq",
            false,
            (s) => deadLetters.listDeadLetters({ filter: { subscription: s } }),
          ],
          [
            "GetDeadLetterStats subscription",
            "hostile-dlq",
            false,
            (s) => deadLetters.getDeadLetterStats({ subscription: s }),
          ],
          [
            "Pull subscription",
            "hostile-quiet",
            true,
            (s) => subscriber.pull({ subscription: s, maxMessages: 1 }),
          ],
          [
            "Acknowledge subscription",
            "hostile-quiet",
            true,
            (s) => subscriber.acknowledge({ subscription: s, ackIds: [FORGED_ACK_ID] }),
          ],
          [
            "UpdateTopic code",
            "hostile.victim",
            true,
            (code) => admin.updateTopic({ code, name: "renamed by a near miss" }),
          ],
          [
            "UpdateSubscription name",
            "hostile-victim",
            true,
            (name) => admin.updateSubscription({ name, ackDeadlineSeconds: 77 }),
          ],
          [
            "PauseSubscription name",
            "hostile-push",
            true,
            (name) => admin.pauseSubscription({ name, reason: "near miss" }),
          ],
          [
            "Publish publisher",
            "hostile-pub",
            true,
            (p) =>
              publisher.publish({
                publisher: p,
                topic: "hostile.sinkless",
                messages: [{ data: new Uint8Array([1]) }],
              }),
          ],
          [
            "Publish topic",
            "hostile.sinkless",
            true,
            (topic) =>
              publisher.publish({
                publisher: "hostile-pub",
                topic,
                messages: [{ data: new Uint8Array([1]) }],
              }),
          ],
          ["DeleteSubscription name", "hostile-victim", true, (name) => admin.deleteSubscription({ name })],
          ["DeletePublisher code", "hostile-victim-pub", true, (code) => admin.deletePublisher({ code })],
          ["DeleteTopic code", "hostile.victim", true, (code) => admin.deleteTopic({ code })],
        ];
        const results: CaseResult[] = [];
        for (const [rpc, base, mutating, call] of lookups) {
          for (const [what, key, expectCodes] of variants(base)) {
            results.push(
              await runner.runCall(`${rpc} ${show(key)} (${what})`, () => call(key), {
                mutating,
                expectCodes,
                echoes: [key],
              }),
            );
          }
        }
        expect(unexpectedFailures(results)).toEqual([]);
      });

      it("stores text with SQL metacharacters, quotes and NUL byte for byte", async () => {
        const { admin, publisher, subscriber, deadLetters } = clients;
        const tricky = [
          "'; DROP TABLE publishers; --",
          'Robert"); DROP TABLE topics;--',
          "%_\\%\\_\\\\",
          "a\\'b\\\"c",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style payload, literally
          "${jndi:ldap://x/a}",
          "😀 é e\u0301 \u202e",
        ];
        const results: CaseResult[] = [];
        for (const [i, text] of tricky.entries()) {
          results.push(
            await runner.runCall(
              `CreatePublisher name ${show(text)}`,
              () =>
                admin.createPublisher({
                  code: `hostile-rt-${i}`,
                  name: text,
                  description: `${text}\u0000${text}`,
                }),
              {
                mutating: true,
                expectCodes: [OK],
                verify: async () => {
                  const { publisher: p } = await admin.getPublisher({ code: `hostile-rt-${i}` });
                  return p?.name === text && p.description === `${text}\u0000${text}`
                    ? []
                    : [`read back ${show(p?.name ?? "")}`];
                },
              },
            ),
          );
        }
        await admin.createSubscription({
          name: "hostile-roundtrip",
          subscriberId: fx.subscriberId,
          topic: "hostile.roundtrip",
        });
        await runner.resync();
        const attributes = Object.fromEntries(tricky.map((text, i) => [`${text}#${i}`, `${text}\u0000`]));
        const sent = {
          data: new Uint8Array([0, 39, 37, 95, 92, 0]),
          attributes,
          orderingKey: tricky[2] as string,
          identifier: `${tricky[0]}${tricky[3]}`,
        };
        results.push(
          await runner.runCall(
            "Publish a message made of metacharacters",
            () =>
              publisher.publish({ publisher: "hostile-pub", topic: "hostile.roundtrip", messages: [sent] }),
            {
              mutating: true,
              expectCodes: [OK],
              verify: async () => {
                const [got] = (await subscriber.pull({ subscription: "hostile-roundtrip", maxMessages: 1 }))
                  .receivedMessages;
                const m = got?.message;
                const same =
                  m !== undefined &&
                  Buffer.from(m.data).equals(Buffer.from(sent.data)) &&
                  JSON.stringify(m.attributes) === JSON.stringify(attributes) &&
                  m.orderingKey === sent.orderingKey &&
                  m.identifier === sent.identifier;
                return same ? [] : [`delivered ${JSON.stringify(m)?.slice(0, 200)}`];
              },
            },
          ),
        );
        const [dl] = await freshDeadLetters(1);
        results.push(
          await runner.runCall(
            "ResolveDeadLetters note with metacharacters",
            () =>
              deadLetters.resolveDeadLetters({
                ids: [dl ?? 0n],
                resolvedBy: tricky[1] as string,
                note: `${tricky[0]}\u0000`,
              }),
            {
              mutating: true,
              expectCodes: [OK],
              verify: async () => {
                const { deadLetter } = await deadLetters.getDeadLetter({ id: dl ?? 0n });
                return deadLetter?.resolvedBy === tricky[1] &&
                  deadLetter?.resolutionNote === `${tricky[0]}\u0000`
                  ? []
                  : ["resolution text changed"];
              },
            },
          ),
        );
        const controls: [string, () => Promise<unknown>][] = [
          [
            "CreatePublisher name with BEL",
            () => admin.createPublisher({ code: "hostile-ctl-1", name: "a\u0007b" }),
          ],
          ["CreateTopic code with NUL", () => admin.createTopic({ code: "hostile.ctl\u0000", name: "x" })],
          [
            "CreateSubscriber name with ESC",
            () => admin.createSubscriber({ clientId: 1n, name: "\u001b[2Jx" }),
          ],
          [
            "CreateSubscription identifier with SOH",
            () =>
              admin.createSubscription({
                name: "hostile-ctl",
                subscriberId: fx.subscriberId,
                topic: "hostile.idle",
                identifier: "a\u0001",
              }),
          ],
          [
            "CreateSubscription identifier with C1",
            () =>
              admin.createSubscription({
                name: "hostile-ctl",
                subscriberId: fx.subscriberId,
                topic: "hostile.idle",
                identifier: "a\u0085",
              }),
          ],
          [
            "PauseSubscription reason with ANSI",
            () => admin.pauseSubscription({ name: "hostile-push", reason: "\u001b[31mred" }),
          ],
          [
            "ResolveDeadLetters resolved_by with NUL",
            () => deadLetters.resolveDeadLetters({ ids: fx.deadLetterIds, resolvedBy: "a\u0000" }),
          ],
          [
            "UpdateSubscriber name with DEL",
            () => admin.updateSubscriber({ id: fx.subscriberId, name: "x\u007f" }),
          ],
        ];
        for (const [name, call] of controls) {
          results.push(
            await runner.runCall(name, call, { mutating: true, expectCodes: [Code.InvalidArgument] }),
          );
        }
        expect(unexpectedFailures(results)).toEqual([]);
      });

      it("treats ids at the int64 edges as unknown or invalid, never as a crash", async () => {
        const { admin, deadLetters } = clients;
        const min = -INT64_MAX - 1n;
        const results: CaseResult[] = [];
        const edge = async (
          name: string,
          mutating: boolean,
          expectCodes: Code[],
          call: () => Promise<unknown>,
        ) => results.push(await runner.runCall(name, call, { mutating, expectCodes }));
        for (const [label, id, codes] of [
          ["2^63-1", INT64_MAX, [Code.NotFound]],
          ["0", 0n, [Code.InvalidArgument]],
          ["-1", -1n, [Code.InvalidArgument]],
          ["-2^63", min, [Code.InvalidArgument]],
        ] as const) {
          const expectCodes = [...codes];
          await edge(`GetSubscriber id ${label}`, false, expectCodes, () => admin.getSubscriber({ id }));
          await edge(`UpdateSubscriber id ${label}`, true, expectCodes, () =>
            admin.updateSubscriber({ id, name: "x" }),
          );
          await edge(`DeleteSubscriber id ${label}`, true, expectCodes, () => admin.deleteSubscriber({ id }));
          await edge(`RotateSubscriberSecret id ${label}`, true, expectCodes, () =>
            admin.rotateSubscriberSecret({ id }),
          );
          await edge(`GetDeadLetter id ${label}`, false, expectCodes, () =>
            deadLetters.getDeadLetter({ id }),
          );
          await edge(`ReplayDeadLetters ids [${label}]`, true, expectCodes, () =>
            deadLetters.replayDeadLetters({ ids: [id] }),
          );
          await edge(`ResolveDeadLetters ids [${label}]`, true, expectCodes, () =>
            deadLetters.resolveDeadLetters({ ids: [id], resolvedBy: "x" }),
          );
          await edge(`CreateSubscription subscriber_id ${label}`, true, expectCodes, () =>
            admin.createSubscription({ name: "hostile-edge", subscriberId: id, topic: "hostile.idle" }),
          );
          await edge(`ListSubscriptions subscriber_id ${label}`, false, [OK], () =>
            admin.listSubscriptions({ subscriberId: id }),
          );
          await edge(`ListNotificationLogs subscriber_id ${label}`, false, [OK], () =>
            admin.listNotificationLogs({ subscriberId: id }),
          );
        }
        await edge("ReplayDeadLetters a real id and -1", true, [Code.InvalidArgument], () =>
          deadLetters.replayDeadLetters({ ids: [...fx.deadLetterIds, -1n] }),
        );
        await edge("ReplayDeadLetters 1001 ids", true, [Code.InvalidArgument], () =>
          deadLetters.replayDeadLetters({ ids: Array.from({ length: 1001 }, (_, i) => BigInt(i + 1)) }),
        );
        await edge("ResolveDeadLetters 1001 ids", true, [Code.InvalidArgument], () =>
          deadLetters.resolveDeadLetters({
            ids: Array.from({ length: 1001 }, (_, i) => BigInt(i + 1)),
            resolvedBy: "x",
          }),
        );
        await edge("ListSubscribers client_id -1", false, [Code.InvalidArgument], () =>
          admin.listSubscribers({ clientId: -1n }),
        );
        await edge("ListSubscribers client_id 2^63-1", false, [OK], () =>
          admin.listSubscribers({ clientId: INT64_MAX }),
        );
        await edge("CreateSubscriber client_id -2^63", true, [Code.InvalidArgument], () =>
          admin.createSubscriber({ clientId: min, name: "x" }),
        );
        await edge("CreateSubscriber client_id 0", true, [Code.InvalidArgument], () =>
          admin.createSubscriber({ clientId: 0n, name: "x" }),
        );
        await edge("ListNotificationLogs message_id 2^63-1", false, [OK], () =>
          admin.listNotificationLogs({ messageId: INT64_MAX.toString() }),
        );
        await edge("ListNotificationLogs message_id -1", false, [Code.InvalidArgument], () =>
          admin.listNotificationLogs({ messageId: "-1" }),
        );
        await edge("ListNotificationLogs message_id 2^64", false, [OK, Code.InvalidArgument], () =>
          admin.listNotificationLogs({ messageId: (2n ** 64n).toString().slice(0, 19) }),
        );
        await edge("ListNotificationLogs message_id with SQL", false, [Code.InvalidArgument], () =>
          admin.listNotificationLogs({ messageId: "1 OR 1=1" }),
        );
        results.push(
          await runner.runCall(
            "CreateSubscriber client_id 2^63-1 reads back exactly",
            () => admin.createSubscriber({ clientId: INT64_MAX, name: "hostile-edge" }),
            {
              mutating: true,
              expectCodes: [OK],
              verify: (r) =>
                r?.subscriber?.clientId === INT64_MAX
                  ? []
                  : [`client_id read back as ${r?.subscriber?.clientId}`],
            },
          ),
        );
        expect(unexpectedFailures(results)).toEqual([]);
      });

      it("treats an absurdly long client deadline as long, not as already expired", async () => {
        const { subscriber } = clients;
        const results: CaseResult[] = [];
        // Pull waits max_wait for a first message; the deadline header must not cut that short. The
        // first call, without a deadline, shows that the wait is measurable.
        for (const header of [{}, { "grpc-timeout": "99999999H" }, { "grpc-timeout": "2147484S" }]) {
          const started = performance.now();
          results.push(
            await runner.runCall(
              `deadline overflow: Pull max_wait 1s with ${JSON.stringify(header)}`,
              () =>
                subscriber.pull(
                  { subscription: "hostile-quiet", maxMessages: 1, maxWait: { seconds: 1n } },
                  { headers: header },
                ),
              {
                mutating: true,
                // Refusing an absurd deadline is fine; accepting it and cancelling at once is not.
                expectCodes: [OK, Code.InvalidArgument],
                verify: (response) => {
                  const elapsedMs = performance.now() - started;
                  return response === undefined || elapsedMs >= 900
                    ? []
                    : [`returned after ${Math.round(elapsedMs)} ms instead of waiting 1 s`];
                },
              },
            ),
          );
        }
        expect(unexpectedFailures(results)).toEqual([]);
      });
    });

    it("still shows every known defect listed for this database (delete the entries that are fixed)", () => {
      const notSeen = knownDefects.filter((d) => !knownHits.has(d.id)).map((d) => `${d.id}: ${d.summary}`);
      expect(notSeen).toEqual([]);
    });
  },
);

afterAll(() => {
  const total = [...grandTotals.values()].reduce((a, b) => a + b, 0);
  const parts = [...grandTotals].map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(`hostile input: ${total} cases tried over all databases (${parts})`);
});
