import { createServer, type Server } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import knexFactory from "knex";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ErrorDetailSchema } from "../../gen/herald/v1/errors_pb.js";
import { buildGraph } from "../../src/composition/build-graph.js";
import { loadConfig } from "../../src/config/config.js";
import { runHerald, startHerald } from "../../src/herald-server.js";
import { createJsonLogger } from "../../src/logger.js";
import { createFixture } from "../support/fixtures.js";
import { readStream, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer } from "../support/test-server.js";

/** A port on 127.0.0.1 that something else already listens on. */
async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { port: address.port, server };
}

/** Connections the MySQL server holds open to `databaseUrl`'s database. */
async function mysqlConnectionsTo(databaseUrl: string): Promise<number> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = "/";
  const admin = knexFactory({ client: "mysql2", connection: url.toString() });
  try {
    const [rows] = await admin.raw("SELECT COUNT(*) AS n FROM information_schema.processlist WHERE db = ?", [
      name,
    ]);
    return Number(rows[0].n);
  } finally {
    await admin.destroy();
  }
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "server lifecycle on %s",
  (kind, target) => {
    let db: TestDatabase | undefined;
    let taken: Server | undefined;
    afterEach(async () => {
      await new Promise((resolve) => (taken ? taken.close(resolve) : resolve(undefined)));
      taken = undefined;
      await db?.drop();
      db = undefined;
    });

    it("rejects a start on a taken port and closes the store it opened", async () => {
      db = await target.create();
      const { port, server } = await takenPort();
      taken = server;
      const config = loadConfig({
        HERALD_ADDR: `127.0.0.1:${port}`,
        DATABASE_URL: db.url,
        HERALD_LOG_LEVEL: "silent",
      });
      const graph = await buildGraph(config, { logger: createJsonLogger("silent") });
      const close = vi.spyOn(graph.store, "close");
      await expect(runHerald(graph)).rejects.toThrow(/EADDRINUSE/);
      expect(close).toHaveBeenCalledOnce();
      await expect(graph.store.ping()).rejects.toThrow();
    });

    it.runIf(kind === "mysql")(
      "leaves no database connection behind after a start on a taken port",
      async () => {
        db = await target.create();
        const { port, server } = await takenPort();
        taken = server;
        const config = loadConfig({
          HERALD_ADDR: `127.0.0.1:${port}`,
          DATABASE_URL: db.url,
          HERALD_LOG_LEVEL: "silent",
        });
        await expect(startHerald(config, { logger: createJsonLogger("silent") })).rejects.toThrow(
          /EADDRINUSE/,
        );
        const database = db;
        await expect.poll(() => mysqlConnectionsTo(database.url), { timeout: 5_000 }).toBe(0);
      },
    );

    it("ends an open stream UNAVAILABLE with an ErrorDetail when the server stops", async () => {
      db = await target.create();
      const t = await startTestServer(db);
      try {
        const f = await createFixture(t);
        const stream = readStream(
          (signal) => t.subscriber.subscribe({ subscription: f.subscription }, { signal }),
          () => undefined,
        );
        await until(() => t.server.openStreams() === 1, 10_000, "an open stream");
        const stopping = t.stop();
        const error = ConnectError.from(await stream.done);
        await stopping;
        expect(Code[error.code]).toBe("Unavailable");
        expect(error.findDetails(ErrorDetailSchema)[0]?.reason).toBe("SERVER_SHUTTING_DOWN");
      } finally {
        await t.stop();
      }
    });
  },
);
