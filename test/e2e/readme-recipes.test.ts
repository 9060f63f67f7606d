/**
 * The documented admin recipes (docs/operations.md, between the recipes markers; `$C` and `$H` are
 * the README quickstart's variables), run verbatim through `buf curl` with reflection against a
 * fresh server, so the documented commands are known to work.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../..");

function recipes(): string[] {
  const readme = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
  const block =
    /<!-- recipes:start -->\s*```sh\n([\s\S]*?)```\s*<!-- recipes:end -->/.exec(readme)?.[1] ?? "";
  return block.split("\n").filter((line) => line.startsWith("$C "));
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "documented admin recipes (docs/operations.md) on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db);
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("finds the recipes", () => {
      expect(recipes().length).toBeGreaterThanOrEqual(10);
    });

    it("runs every recipe successfully, and the DLQ ones act on a real dead letter", async () => {
      const outputs: Record<string, unknown>[] = [];
      for (const line of recipes()) {
        // Between the Pull and the DLQ recipes, nack the pulled message so it is dead-lettered.
        if (line.includes("DeadLetterService/ListDeadLetters")) {
          const pulled = outputs.find((o) => Array.isArray(o.receivedMessages)) as
            | { receivedMessages: { ackId: string }[] }
            | undefined;
          expect(pulled?.receivedMessages).toHaveLength(1);
          await t.subscriber.modifyAckDeadline({
            subscription: "ledger-invoices",
            ackIds: pulled?.receivedMessages.map((m) => m.ackId) ?? [],
            ackDeadlineSeconds: 0,
          });
        }
        const data = /--data '([^']*)'/.exec(line)?.[1] ?? "{}";
        const path = /\$H(\/\S+)/.exec(line)?.[1] ?? "";
        const { stdout } = await run(join(ROOT, "node_modules/.bin/buf"), [
          "curl",
          "--protocol",
          "grpc",
          "--http2-prior-knowledge",
          "--data",
          data,
          `${t.server.url}${path}`,
        ]);
        outputs.push(JSON.parse(stdout) as Record<string, unknown>);
      }
      const byPath = (suffix: string) => outputs[recipes().findIndex((l) => l.includes(suffix))];
      expect(
        (byPath("DeadLetterService/ListDeadLetters") as { deadLetters: unknown[] }).deadLetters,
      ).toHaveLength(1);
      expect(byPath("ReplayDeadLetters")).toEqual({ replayedCount: "1" });
      expect(byPath("PurgeDeadLetters")).toEqual({ purgedCount: "1" });
      expect(byPath("CreateSnapshot")).toMatchObject({ snapshot: { name: "ledger-before-deploy" } });
      expect((byPath("ListSnapshots") as { snapshots: unknown[] }).snapshots).toHaveLength(1);
    }, 60_000);
  },
);
