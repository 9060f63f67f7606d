/**
 * `herald health` exits 3 when the server answers NOT_SERVING: the server's database (MariaDB behind
 * a TCP proxy) is cut, its health monitor reports NOT_SERVING, and the real binary says so.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { createHeraldClients } from "../support/herald-clients.js";
import { eventually } from "../support/stream-reader.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { cliRunner } from "./cli-harness.js";

const mysqlTarget = testDatabaseTargets().find((t) => t.kind === "mysql");

describe.skipIf(mysqlTarget === undefined)(
  "herald health while the database is unreachable",
  { timeout: 120_000 },
  () => {
    let db: TestDatabase;
    let proxy: TcpProxy;
    let t: TestServer;

    beforeAll(async () => {
      db = await (mysqlTarget as NonNullable<typeof mysqlTarget>).create();
      const real = new URL(db.url);
      proxy = await startTcpProxy({
        upstreamHost: real.hostname,
        upstreamPort: real.port === "" ? 3306 : Number(real.port),
      });
      const proxied = new URL(db.url);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(proxy.port);
      t = await startTestServer({ ...db, url: proxied.toString() });
    });
    afterAll(async () => {
      await proxy?.restore();
      await t?.stop();
      await proxy?.close();
      await db?.drop();
    });

    it("prints NOT_SERVING and exits 3, then SERVING and 0 once the database is back", async () => {
      const cli = cliRunner(t.server.url);
      const { health } = createHeraldClients(t.server.url);
      const statusNow = () =>
        health.check({ service: "" }).then(
          (r) => r.status,
          (e: unknown) =>
            e instanceof ConnectError && e.code === Code.Unavailable ? ServingStatus.NOT_SERVING : -1,
        );
      proxy.cut("refuse");
      await eventually(statusNow, (s) => s === ServingStatus.NOT_SERVING, 20_000, "NOT_SERVING");
      const [down, downJson] = await Promise.all([cli.run(["health"]), cli.run(["health", "--json"])]);
      expect(down).toEqual({ code: 3, stdout: "NOT_SERVING\n", stderr: "herald: server is NOT_SERVING\n" });
      expect([downJson.code, JSON.parse(downJson.stdout)]).toEqual([3, { status: "NOT_SERVING" }]);

      await proxy.restore();
      await eventually(statusNow, (s) => s === ServingStatus.SERVING, 30_000, "SERVING");
      expect(await cli.run(["health"])).toEqual({ code: 0, stdout: "SERVING\n", stderr: "" });
    });
  },
);
