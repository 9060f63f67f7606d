#!/usr/bin/env node
// Measures start-to-serving: spawns `herald serve` (the command given, default bin/herald.js) on a
// fresh database, polls grpc.health.v1 Check until SERVING, and prints the median of N runs.
// Also prints the CPU time (user + system) the process used until then, from /proc (Linux): on a
// busy machine wall time mostly measures the other processes, CPU time measures Herald.
// usage: node scripts/measure-start.mjs [runs] [database-url] [-- command…]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const dash = args.indexOf("--");
const command = dash >= 0 ? args.slice(dash + 1) : [process.execPath, "bin/herald.js", "serve"];
const [runsArg, urlArg] = dash >= 0 ? args.slice(0, dash) : args;
const runs = Number(runsArg ?? 5);

/** One grpc.health.v1.Health/Check with an empty request; true when the answer is SERVING (1). */
function healthy(port) {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => resolve(false));
    const req = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      session.close();
      const body = Buffer.concat(chunks);
      // Envelope (5 bytes) then field 1 (status) varint: 08 01 = SERVING.
      resolve(body.length >= 7 && body[5] === 0x08 && body[6] === 0x01);
    });
    req.on("error", () => resolve(false));
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

/** utime + stime of a process, ms (clock ticks of 10 ms); NaN where /proc is missing. */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

async function once() {
  const dir = mkdtempSync(join(tmpdir(), "herald-start-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const databaseUrl = urlArg ?? `sqlite:${join(dir, "herald.db")}`;
  const started = performance.now();
  const child = spawn(command[0], command.slice(1), {
    env: {
      PATH: process.env.PATH,
      HERALD_ADDR: `127.0.0.1:${port}`,
      DATABASE_URL: databaseUrl,
      HERALD_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
      if (await healthy(port)) return { wallMs: performance.now() - started, cpuMs: cpuMsOf(child.pid) };
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${Math.round(sorted[Math.floor(runs / 2)])} ms (min ${Math.round(sorted[0])}, max ${Math.round(sorted[runs - 1])})`;
};
console.log(
  `start-to-serving over ${runs} runs: wall ${median(results.map((r) => r.wallMs))}, CPU ${median(results.map((r) => r.cpuMs))} — ${command.join(" ")}`,
);
