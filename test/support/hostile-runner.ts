/**
 * Runs hostile-input cases one at a time against a live server and checks what every case must
 * satisfy: a status that blames the client (never INTERNAL/UNKNOWN), no internals in the message,
 * a server that still answers a health Check, and an unchanged database after a rejected mutation.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Knex } from "knex";
import { ErrorDetailSchema } from "../../gen/herald/v1/errors_pb.js";
import { type DatabaseSnapshot, DatabaseWatcher, snapshotDifferences } from "./database-snapshot.js";
import type { HostileCase, Protocol } from "./hostile-case.js";
import type { RawHttp2Client } from "./raw-http2-client.js";
import {
  connectOutcome,
  describeOutcome,
  grpcOutcome,
  leaksIn,
  OK,
  type Outcome,
  SERVER_FAULT_CODES,
} from "./rpc-outcome.js";
import { envelope } from "./wire-bytes.js";

export interface CaseResult {
  id: string;
  /** "client" for calls made with the generated clients (semantic attacks). */
  protocol: Protocol | "client";
  outcome: Outcome;
  /** What went wrong; empty when the case passed. */
  problems: string[];
}

/** What the per-case rules need to know about a case. */
type CaseRules = Pick<HostileCase, "echoes" | "expectCodes" | "expectHttp">;

/** An error message longer than this echoes the request back instead of describing the problem. */
export const MAX_ERROR_MESSAGE_CHARS = 8 * 1024;

export interface HostileRunnerOptions {
  /** Sends the cases. */
  raw: RawHttp2Client;
  /** A separate connection for the health Check after each case. */
  healthRaw: RawHttp2Client;
  knex: Knex;
}

/** grpc.health.v1.HealthCheckResponse { status: SERVING }, as protobuf. */
const SERVING = Buffer.from([0x08, 0x01]);

export class HostileRunner {
  /** Cases run so far, by protocol ("grpc", "connect", "client"). */
  readonly counts = new Map<string, number>();
  /** Time spent per phase ("request", "health", "snapshot"), ms. */
  readonly timings = new Map<string, number>();
  /** The slowest requests so far (ms, case id), slowest first; at most 10. */
  readonly slowest: [number, string][] = [];
  private current: DatabaseSnapshot | undefined;
  private readonly database: DatabaseWatcher;

  constructor(private readonly options: HostileRunnerOptions) {
    this.database = new DatabaseWatcher(options.knex);
  }

  /** Re-reads the database; call after any change made outside the runner (fixtures, setup steps). */
  async resync(): Promise<void> {
    this.current = await this.database.snapshot();
  }

  /** Runs `cases` in order. Mutating RPCs are checked case by case; read-only ones once for the list. */
  async run(cases: readonly HostileCase[], mutating: boolean): Promise<CaseResult[]> {
    if (this.current === undefined) await this.resync();
    const groupStart = this.current as DatabaseSnapshot;
    const results: CaseResult[] = [];
    for (const testCase of cases) results.push(await this.runOne(testCase, mutating));
    if (!mutating && cases.length > 0) {
      const after = await this.database.snapshot();
      const changed = snapshotDifferences(groupStart, after);
      if (changed.length > 0) {
        results.push({
          id: `${cases[0]?.id ?? ""} … (the whole read-only group)`,
          protocol: cases[0]?.protocol ?? "grpc",
          outcome: { kind: "broken", detail: "read-only group" },
          problems: [`a read-only RPC changed the database: ${changed.join("; ")}`],
        });
      }
      this.current = after;
    }
    return results;
  }

  private async runOne(testCase: HostileCase, mutating: boolean): Promise<CaseResult> {
    const lostBefore = this.options.raw.sessionsLost;
    const started = performance.now();
    const response = await this.timed("request", () =>
      this.options.raw.request({ timeoutMs: 20_000, ...testCase.request() }),
    );
    this.noteDuration(performance.now() - started, testCase.id);
    const outcome =
      testCase.protocol === "grpc"
        ? grpcOutcome(response)
        : connectOutcome(response, testCase.method.methodKind === "server_streaming");
    const problems = judge(testCase, outcome);
    problems.push(...(await this.afterEffects(outcome, mutating)));
    // Checked after the health Check: a GOAWAY may arrive just after the stream itself ended.
    if (response.sessionLost || this.options.raw.sessionsLost > lostBefore) {
      problems.push("the request tore down the whole HTTP/2 connection");
    }
    this.count(testCase.protocol);
    return { id: testCase.id, protocol: testCase.protocol, outcome, problems };
  }

  /**
   * Runs one call made with a generated client (a semantic attack) under the same rules, plus
   * `verify` (given the response, or undefined after an error) for what this case must show.
   */
  async runCall<T>(
    id: string,
    call: () => Promise<T>,
    options: Partial<CaseRules> & {
      mutating: boolean;
      verify?: (response: T | undefined) => string[] | Promise<string[]>;
    },
  ): Promise<CaseResult> {
    if (this.current === undefined) await this.resync();
    let response: T | undefined;
    let outcome: Outcome;
    try {
      response = await call();
      outcome = { kind: "status", code: OK, message: "", httpStatus: 200 };
    } catch (error) {
      const e = ConnectError.from(error);
      const [detail] = e.findDetails(ErrorDetailSchema);
      outcome = { kind: "status", code: e.code, message: e.rawMessage, httpStatus: 0 };
      if (detail) Object.assign(outcome, { reason: detail.reason, field: detail.field });
    }
    const problems = judge({ ...options, echoes: options.echoes ?? [] }, outcome);
    if (options.verify) problems.push(...(await options.verify(response)));
    problems.push(...(await this.afterEffects(outcome, options.mutating, true)));
    this.count("client");
    return { id: `client ${id}`, protocol: "client", outcome, problems };
  }

  /** Health, prototype pollution and database checks after a case (health and snapshot in parallel). */
  private async afterEffects(outcome: Outcome, mutating: boolean, alwaysSnapshot = false): Promise<string[]> {
    const problems: string[] = [];
    if (Object.hasOwn(Object.prototype, "polluted")) problems.push("Object.prototype was polluted");
    const snapshot = mutating || alwaysSnapshot;
    const [unhealthy, after] = await Promise.all([
      this.timed("health", () => this.healthProblem()),
      snapshot ? this.timed("snapshot", () => this.database.snapshot()) : undefined,
    ]);
    if (unhealthy) problems.push(unhealthy);
    if (after) {
      const accepted = outcome.kind === "status" && outcome.code === OK;
      const changed = snapshotDifferences(this.current as DatabaseSnapshot, after);
      if (changed.length > 0 && !(mutating && accepted)) {
        problems.push(
          `${mutating ? "rejected" : "read-only"} call changed the database: ${changed.join("; ")}`,
        );
      }
      this.current = after;
    }
    return problems;
  }

  private async timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.timings.set(phase, (this.timings.get(phase) ?? 0) + performance.now() - started);
    }
  }

  private noteDuration(ms: number, id: string): void {
    if (this.slowest.length === 10 && ms <= (this.slowest[9]?.[0] ?? 0)) return;
    this.slowest.push([ms, id]);
    this.slowest.sort((a, b) => b[0] - a[0]);
    this.slowest.length = Math.min(this.slowest.length, 10);
  }

  private count(protocol: string): void {
    this.counts.set(protocol, (this.counts.get(protocol) ?? 0) + 1);
  }

  private async healthProblem(): Promise<string | undefined> {
    const response = await this.options.healthRaw.request({
      path: "/grpc.health.v1.Health/Check",
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: envelope(new Uint8Array()),
      timeoutMs: 5_000,
    });
    const outcome = grpcOutcome(response);
    if (outcome.kind !== "status" || outcome.code !== OK) {
      return `health Check failed afterwards: ${describeOutcome(outcome)}`;
    }
    const message = response.body.subarray(5);
    return message.equals(SERVING)
      ? undefined
      : `health Check answered ${message.toString("hex")}, not SERVING`;
  }
}

/** The per-case rules: a status that blames the client, the expected code when known, no leaks. */
function judge(rules: CaseRules, outcome: Outcome): string[] {
  const problems: string[] = [];
  switch (outcome.kind) {
    case "broken":
      problems.push(`no RPC status: ${outcome.detail}`);
      break;
    case "http": {
      if (!rules.expectHttp?.includes(outcome.httpStatus)) {
        problems.push(`HTTP ${outcome.httpStatus} without an RPC status`);
      }
      const leaks = leaksIn(outcome.body, rules.echoes);
      if (leaks.length > 0) problems.push(`HTTP body leaks ${leaks.join(", ")}`);
      break;
    }
    case "status": {
      if (SERVER_FAULT_CODES.has(outcome.code)) {
        problems.push(`server-fault status ${describeOutcome(outcome)}`);
      } else if (rules.expectCodes && !rules.expectCodes.includes(outcome.code)) {
        const expected = rules.expectCodes.map((c) => (c === OK ? "OK" : Code[c])).join(" or ");
        problems.push(`expected ${expected}, got ${describeOutcome(outcome)}`);
      }
      const leaks = leaksIn(outcome.message, rules.echoes);
      if (leaks.length > 0) problems.push(`message leaks ${leaks.join(", ")}: ${describeOutcome(outcome)}`);
      if (outcome.message.length > MAX_ERROR_MESSAGE_CHARS) {
        problems.push(`error message echoes ${outcome.message.length} characters of input`);
      }
      break;
    }
  }
  return problems;
}
