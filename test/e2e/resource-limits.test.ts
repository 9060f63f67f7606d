import http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../../gen/herald/v1/errors_pb.js";
import { createFixture } from "../support/fixtures.js";
import { readStream, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "resource limits on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { env: { HERALD_MAX_STREAMS: "2" } });
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("answers RESOURCE_EXHAUSTED past the open-stream cap and recovers when streams end", async () => {
      const f = await createFixture(t);
      const open = [0, 1].map(() =>
        readStream(
          (signal) => t.subscriber.subscribe({ subscription: f.subscription }, { signal }),
          () => undefined,
        ),
      );
      await until(() => t.server.openStreams() === 2, 10_000, "two open streams");
      const third = readStream(
        (signal) => t.subscriber.subscribe({ subscription: f.subscription }, { signal }),
        () => undefined,
      );
      const refused = ConnectError.from(await third.done);
      expect(refused.code).toBe(Code.ResourceExhausted);
      // The engine's refusal is a domain error: it reaches the client with its ErrorDetail.
      expect(refused.findDetails(ErrorDetailSchema)[0]?.reason).toBe("TOO_MANY_STREAMS");
      await open[0]?.stop();
      await until(() => t.server.openStreams() === 1, 10_000, "one stream left");
      const again = readStream(
        (signal) => t.subscriber.subscribe({ subscription: f.subscription }, { signal }),
        () => undefined,
      );
      await until(() => t.server.openStreams() === 2, 10_000, "a new stream");
      await again.stop();
      await open[1]?.stop();
    });

    it("refuses a request larger than the read limit without falling over", async () => {
      const f = await createFixture(t);
      // A raw gRPC request: Node's HTTP/2 client refuses to buffer 13 MB itself, so send the frame by hand.
      const client = http2.connect(t.server.url, { maxSessionMemory: 200 });
      const frame = Buffer.alloc(5 + 13 * 1024 * 1024);
      frame.writeUInt32BE(13 * 1024 * 1024, 1);
      const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = client.request({
          ":method": "POST",
          ":path": "/herald.v1.PublisherService/Publish",
          "content-type": "application/grpc",
          te: "trailers",
        });
        req.on("trailers", resolve);
        req.on("error", reject);
        req.resume();
        req.end(frame);
      });
      client.close();
      expect(trailers["grpc-status"]).toBe(String(Code.ResourceExhausted));
      const ok = await f.publish([{ data: new Uint8Array([1]) }]);
      expect(ok).toHaveLength(1);
    });
  },
);
