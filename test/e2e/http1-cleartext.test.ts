import http from "node:http";
import http2 from "node:http2";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHeraldClients } from "../support/herald-clients.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** POSTs Connect JSON over HTTP/1.1 (node:http speaks nothing else) with a keep-alive agent. */
function postHttp1(url: string, path: string, body: object, agent: http.Agent) {
  return new Promise<{ status: number; httpVersion: string; json: unknown }>((resolve, reject) => {
    const req = http.request(
      `${url}${path}`,
      { method: "POST", agent, headers: { "content-type": "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            httpVersion: res.httpVersion,
            json: JSON.parse(Buffer.concat(chunks).toString()),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

// Transport only: SQLite suffices (the database plays no part in picking the protocol).
const sqlite = testDatabaseTargets().filter((t) => t.kind === "sqlite");

describe.each(sqlite.map((t) => [t.kind, t] as const))(
  "one cleartext port, HTTP/1.1 and h2c, on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    const agent = new http.Agent({ keepAlive: true });

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db);
      await createHeraldClients(t.server.url).admin.createTopic({ code: "h1.topic", name: "h1" });
    });
    afterAll(async () => {
      // Stopped while the keep-alive agent still holds an idle HTTP/1.1 connection: stop closes it
      // at once (without connection tracking it would wait out the 5 s keep-alive timeout).
      await t?.stop();
      agent.destroy();
      await db?.drop();
    });

    it("answers Connect JSON over HTTP/1.1 on the cleartext port", async () => {
      const res = await postHttp1(
        t.server.url,
        "/herald.v1.AdminService/GetTopic",
        { code: "h1.topic" },
        agent,
      );
      expect(res.httpVersion).toBe("1.1");
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ topic: { code: "h1.topic" } });
    });

    it("keeps gRPC over h2c working on the same port", async () => {
      const { topic } = await createHeraldClients(t.server.url).admin.getTopic({ code: "h1.topic" });
      expect(topic?.code).toBe("h1.topic");
    });

    it("recognises the HTTP/2 preface when it arrives a few bytes at a time", async () => {
      const { port } = t.server;
      const session = http2.connect(t.server.url, {
        createConnection: () => {
          const socket = connect({ host: "127.0.0.1", port });
          // Node writes the preface in one piece; cork and dribble the first write instead.
          const write = socket.write.bind(socket);
          let isFirst = true;
          socket.write = ((chunk: Buffer, ...rest: never[]) => {
            if (!isFirst) return write(chunk, ...rest);
            isFirst = false;
            write(chunk.subarray(0, 3));
            setTimeout(() => write(chunk.subarray(3, 10)), 20);
            setTimeout(() => write(chunk.subarray(10), ...rest), 40);
            return true;
          }) as typeof socket.write;
          return socket;
        },
      });
      try {
        const status = await new Promise<number>((resolve, reject) => {
          const req = session.request({
            ":method": "POST",
            ":path": "/herald.v1.AdminService/GetTopic",
            "content-type": "application/json",
          });
          req.on("response", (headers) => resolve(Number(headers[":status"])));
          req.on("error", reject);
          req.end(JSON.stringify({ code: "h1.topic" }));
        });
        expect(status).toBe(200);
      } finally {
        session.destroy();
      }
    });

    it("sends HTTP/1.1 requests whose method starts like the preface (PUT, PATCH) to HTTP/1.1", async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          `${t.server.url}/herald.v1.AdminService/GetTopic`,
          { method: "PUT", agent },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end();
      });
      // connect answers a method it does not route with 405 (HTTP/1.1 reached the handler).
      expect([404, 405]).toContain(status);
    });
  },
);
