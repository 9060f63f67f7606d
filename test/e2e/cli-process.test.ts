/** The real `herald` process: start, one log line, serve, SIGTERM → exit 0; bad config → exit 1. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";

const ROOT = join(import.meta.dirname, "../..");

function herald(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HERALD_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Resolves with the first log line whose msg is `msg`. */
async function waitForLog(child: ChildProcess, msg: string): Promise<Record<string, unknown>> {
  const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
  for await (const line of lines) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry.msg === msg) return entry;
  }
  throw new Error(`process ended before logging "${msg}"`);
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "herald process on %s",
  (_k, target) => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await target.create();
    });
    afterAll(async () => {
      await db?.drop();
    });

    it("migrates, serves, and exits 0 on SIGTERM", async () => {
      const migrate = herald(["migrate"], { DATABASE_URL: db.url });
      const [migrateCode] = await once(migrate, "exit");
      expect(migrateCode).toBe(0);

      const child = herald(["serve"], { DATABASE_URL: db.url, HERALD_ADDR: "127.0.0.1:0" });
      try {
        const started = await waitForLog(child, "herald listening");
        expect(started.store).toBe(target.kind);
        const admin = createClient(
          AdminService,
          createGrpcTransport({ baseUrl: `http://${started.address}` }),
        );
        const { topic } = await admin.createTopic({ code: "cli.topic", name: "from the cli test" });
        expect(topic?.code).toBe("cli.topic");
        child.kill("SIGTERM");
        const [code] = await once(child, "exit");
        expect(code).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    });
  },
);

describe("bin/herald.js (npm start, npx herald)", () => {
  // Runs dist/ when `npm run build` made it and it is current, else the TypeScript through tsx:
  // either way it must migrate a fresh database, serve, and stop cleanly.
  it("migrates, serves, and exits 0 on SIGTERM", async () => {
    const db = await testDatabaseTargets()[0]?.create();
    if (!db) throw new Error("no test database");
    const child = spawn(process.execPath, ["bin/herald.js", "serve"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HERALD_LOG_LEVEL: "info",
        DATABASE_URL: db.url,
        HERALD_ADDR: "127.0.0.1:0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const started = await waitForLog(child, "herald listening");
      expect(started.store).toBe("sqlite");
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await db.drop();
    }
  });
});

describe("herald configuration errors", () => {
  it.each([
    ["HERALD_ADDR", { HERALD_ADDR: "localhost" }],
    ["DATABASE_URL", { DATABASE_URL: "postgres://x" }],
    ["HERALD_LOG_LEVEL", { HERALD_LOG_LEVEL: "loud" }],
    ["HERALD_DB_POOL_MAX", { HERALD_DB_POOL_MAX: "0" }],
  ])("refuses to start and names %s", async (name, env) => {
    const child = herald(["serve"], env);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(1);
    expect(stderr).toContain(name);
  });
});
