/**
 * Indicative CPU cost of OpenTelemetry tracing per published message: the same in-process run
 * (a Herald server on a fresh SQLite file, a connect client publishing single-message requests
 * with a few calls in flight) with tracing off and on, alternating, and the process's CPU time per
 * message for each. With tracing on, spans go to a local OTLP/HTTP sink in the same process that
 * only drains the request (its small cost is included). Client and server share the process, so
 * the difference between the rows is what tracing costs; the absolute numbers include the client.
 *
 *   node --import tsx bench/tracing-cost.ts [messages per run, default 4000] [rounds, default 3]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "../gen/herald/v1/admin_service_pb.js";
import { PublisherService } from "../gen/herald/v1/publisher_service_pb.js";
import { loadConfig } from "../src/config/config.js";
import { startHerald } from "../src/herald-server.js";
import { createJsonLogger } from "../src/logger.js";

const MESSAGES = Number(process.argv[2] ?? 4000);
const ROUNDS = Number(process.argv[3] ?? 3);
const IN_FLIGHT = 8;
const WARMUP = 500;

async function startSink(): Promise<{ url: string; exports: () => number; close: () => Promise<void> }> {
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      exports += 1;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => exports,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** CPU ms (user + system) of this process per published message, over `MESSAGES` after a warm-up. */
async function run(tracing: string | undefined): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "herald-tracing-cost-"));
  const server = await startHerald(
    loadConfig({
      HERALD_ADDR: "127.0.0.1:0",
      DATABASE_URL: `sqlite:${join(dir, "herald.db")}`,
      HERALD_LOG_LEVEL: "silent",
      ...(tracing ? { OTEL_EXPORTER_OTLP_ENDPOINT: tracing, OTEL_BSP_SCHEDULE_DELAY: "200" } : {}),
    }),
    { logger: createJsonLogger("silent") },
  );
  try {
    const transport = createGrpcTransport({ baseUrl: server.url });
    const admin = createClient(AdminService, transport);
    const publisher = createClient(PublisherService, transport);
    await admin.createPublisher({ code: "bench", name: "bench" });
    await admin.createTopic({ code: "cost", name: "cost" });
    const { subscriber } = await admin.createSubscriber({
      clientId: 1n,
      name: "bench",
      webhookUrl: "https://hooks.example.com/in",
    });
    await admin.createSubscription({ name: "cost-sub", subscriberId: subscriber?.id ?? 0n, topic: "cost" });
    const data = new Uint8Array(256);
    const headers = {
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    };
    const publishMany = async (count: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < count) {
            next += 1;
            await publisher.publish({ publisher: "bench", topic: "cost", messages: [{ data }] }, { headers });
          }
        }),
      );
    };
    await publishMany(WARMUP);
    const before = process.cpuUsage();
    await publishMany(MESSAGES);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / MESSAGES;
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sink = await startSink();
const results: { off: number[]; on: number[] } = { off: [], on: [] };
for (let round = 0; round < ROUNDS; round++) {
  results.off.push(await run(undefined));
  results.on.push(await run(sink.url));
}
await sink.close();
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const off = median(results.off);
const on = median(results.on);
console.log(`messages per run ${MESSAGES}, rounds ${ROUNDS}, ${IN_FLIGHT} calls in flight, SQLite`);
console.log(
  `tracing off: ${off.toFixed(3)} CPU ms/msg  (runs: ${results.off.map((v) => v.toFixed(3)).join(", ")})`,
);
console.log(
  `tracing on:  ${on.toFixed(3)} CPU ms/msg  (runs: ${results.on.map((v) => v.toFixed(3)).join(", ")})`,
);
console.log(
  `difference:  ${(on - off).toFixed(3)} ms/msg (${(((on - off) / off) * 100).toFixed(0)} %), OTLP exports received: ${sink.exports()}`,
);
