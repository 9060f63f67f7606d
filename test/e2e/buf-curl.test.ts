/**
 * `buf curl` stands in for grpcurl: it discovers the schema through server reflection, exactly
 * as `grpcurl -plaintext localhost:8085 list` would.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const run = promisify(execFile);
const BUF = join(import.meta.dirname, "../../node_modules/.bin/buf");

async function bufCurl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(BUF, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "buf curl with reflection on %s",
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

    it("lists every service", async () => {
      const { code, stdout } = await bufCurl(["--list-services", t.server.url]);
      expect(code).toBe(0);
      for (const service of [
        "herald.v1.AdminService",
        "herald.v1.PublisherService",
        "herald.v1.SubscriberService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]) {
        expect(stdout).toContain(service);
      }
    });

    it("runs an admin call and a publish, and reports errors by exit code", async () => {
      const create = await bufCurl([
        "--data",
        '{"code":"curl.events","name":"from buf curl"}',
        `${t.server.url}/herald.v1.AdminService/CreateTopic`,
      ]);
      expect(create.code).toBe(0);
      expect(JSON.parse(create.stdout).topic.code).toBe("curl.events");
      await bufCurl([
        "--data",
        '{"code":"curl-pub","name":"curl"}',
        `${t.server.url}/herald.v1.AdminService/CreatePublisher`,
      ]);
      const publish = await bufCurl([
        "--data",
        '{"publisher":"curl-pub","topic":"curl.events","messages":[{"data":"aGVsbG8=","identifier":"x"}]}',
        `${t.server.url}/herald.v1.PublisherService/Publish`,
      ]);
      expect(publish.code).toBe(0);
      expect(JSON.parse(publish.stdout).messageIds).toHaveLength(1);
      const missing = await bufCurl([
        "--data",
        '{"code":"no.such"}',
        `${t.server.url}/herald.v1.AdminService/GetTopic`,
      ]);
      expect(missing.code).toBe(8 * 5); // buf curl exits with 8 × the gRPC code: NOT_FOUND = 5
      const health = await bufCurl(["--data", "{}", `${t.server.url}/grpc.health.v1.Health/Check`]);
      expect(JSON.parse(health.stdout)).toEqual({ status: "SERVING" });
    });
  },
);
