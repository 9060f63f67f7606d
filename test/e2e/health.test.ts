import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const HERALD_SERVICES = [
  "herald.v1.AdminService",
  "herald.v1.DeadLetterService",
  "herald.v1.PublisherService",
  "herald.v1.SubscriberService",
];

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "grpc.health.v1 on %s",
  (_k, target) => {
    let db: TestDatabase | undefined;
    let t: TestServer | undefined;
    afterEach(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("reports the server and every herald.v1 service SERVING while the database answers", async () => {
      db = await target.create();
      t = await startTestServer(db);
      const health = createClient(Health, createGrpcTransport({ baseUrl: t.server.url }));
      for (const service of ["", ...HERALD_SERVICES]) {
        expect((await health.check({ service })).status, service).toBe(ServingStatus.SERVING);
      }
    });

    it("reports NOT_SERVING to watchers as soon as a graceful stop begins", async () => {
      db = await target.create();
      t = await startTestServer(db);
      const health = createClient(Health, createGrpcTransport({ baseUrl: t.server.url }));
      const seen: ServingStatus[] = [];
      let stopping: Promise<void> | undefined;
      try {
        for await (const response of health.watch({ service: "herald.v1.PublisherService" })) {
          seen.push(response.status);
          if (seen.length === 1) stopping = t.server.stop();
          if (seen.length === 2) break;
        }
      } catch {
        // The stop ends the stream; what was seen before is what counts.
      }
      await stopping;
      expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    });
  },
);
