/**
 * The README's exactly-once example (the `js` block under "## Exactly-once delivery"), run
 * verbatim with Node against a fresh server through PUBSUB_EMULATOR_HOST: it must print the
 * confirmed ack and exit.
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

function example(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Exactly-once delivery"));
  return /```js\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "README exactly-once example on %s",
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

    it("receives the message and has its ack confirmed", async () => {
      const code = example();
      expect(code).toContain("ackWithResponse");
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", code], {
        cwd: ROOT,
        timeout: 30_000,
        env: {
          PATH: process.env.PATH ?? "",
          PUBSUB_EMULATOR_HOST: t.server.url.replace(/^https?:\/\//, ""),
          METADATA_SERVER_DETECTION: "none",
        },
      });
      expect(stdout).toContain("received order-42 paid");
      expect(stdout).toContain("ack confirmed: SUCCESS");
    });
  },
);
