/**
 * The database's own ceiling on this machine, measured in the same run as Herald (MySQL/MariaDB
 * only), with the two statements notes/queue-on-mysql.md measured: a multi-row INSERT of 1,000
 * 1 KiB rows per statement, and the claim cycle `SELECT id … ORDER BY id LIMIT 100 FOR UPDATE SKIP
 * LOCKED` + `UPDATE … WHERE id IN (…)` with 4 workers in READ COMMITTED, on an index matching the
 * query. Runs in its own scratch database, dropped afterwards.
 *
 * The INSERT is measured twice: as a prepared statement (binary protocol, raw payload bytes: the
 * database's ceiling) and as text with the payload escaped into the SQL, which is how knex and
 * mysql2's query() send it, so Herald's own path is bounded by the second number.
 */
import { randomBytes } from "node:crypto";
import type mysql from "mysql2/promise";
import { connectMysql, type MysqlServer } from "../bench-databases.js";
import type { BenchSettings } from "../bench-settings.js";
import type { RunResult } from "./workload.js";

const PAYLOAD = randomBytes(1024);
const RETRYABLE_ERRNOS = new Set([1213, 1205]); // deadlock, lock wait timeout

export interface CeilingMeasurement {
  id: "ceiling-insert" | "ceiling-insert-text" | "ceiling-claim";
  title: string;
  runs: RunResult[];
}

type InsertProtocol = "prepared" | "text";

async function insertRows(
  conn: mysql.Connection,
  table: string,
  rows: number,
  protocol: InsertProtocol,
): Promise<void> {
  const nowMs = Date.now();
  if (protocol === "text") {
    const values = Array.from({ length: rows }, () => [nowMs, PAYLOAD]);
    await conn.query(`INSERT INTO ${table} (created_at_ms, payload) VALUES ?`, [values]);
    return;
  }
  const placeholders = Array.from({ length: rows }, () => "(?, ?)").join(", ");
  const params = Array.from({ length: rows }, () => [nowMs, PAYLOAD]).flat();
  await conn.execute(`INSERT INTO ${table} (created_at_ms, payload) VALUES ${placeholders}`, params);
}

async function timedInserts(
  conn: mysql.Connection,
  statements: number,
  protocol: InsertProtocol,
  s: BenchSettings["ceiling"],
  deadlineMs: number,
) {
  const startMs = performance.now();
  let rows = 0;
  for (let i = 0; i < statements && performance.now() < deadlineMs; i++) {
    await insertRows(conn, "ceiling_insert", s.rowsPerStatement, protocol);
    rows += s.rowsPerStatement;
  }
  const seconds = (performance.now() - startMs) / 1000;
  const expected = statements * s.rowsPerStatement;
  const run: RunResult = {
    count: rows,
    expected,
    seconds,
    perSecond: rows / seconds,
    isComplete: rows === expected,
    ...(rows === expected ? {} : { problem: "run timeout" }),
  };
  return run;
}

async function fillQueue(conn: mysql.Connection, rows: number, rowsPerStatement: number): Promise<void> {
  await conn.query("TRUNCATE TABLE ceiling_queue");
  for (let done = 0; done < rows; done += rowsPerStatement) {
    await insertRows(conn, "ceiling_queue", Math.min(rowsPerStatement, rows - done), "prepared");
  }
}

/** One worker: claim cycles until nothing is left, the deadline passes, or maxCycles is reached. */
async function claimWorker(
  conn: mysql.Connection,
  workerId: number,
  batch: number,
  deadlineMs: number,
  maxCycles: number,
) {
  let claimed = 0;
  let retries = 0;
  for (let cycle = 0; cycle < maxCycles && performance.now() < deadlineMs; cycle++) {
    try {
      await conn.beginTransaction();
      const [rows] = (await conn.query(
        "SELECT id FROM ceiling_queue WHERE status = 0 ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
        [batch],
      )) as [{ id: string }[], unknown];
      if (rows.length === 0) {
        await conn.commit();
        break;
      }
      await conn.query("UPDATE ceiling_queue SET status = 1, claimed_by = ? WHERE id IN (?)", [
        workerId,
        rows.map((r) => r.id),
      ]);
      await conn.commit();
      claimed += rows.length;
    } catch (err) {
      await conn.rollback().catch(() => {});
      if (!RETRYABLE_ERRNOS.has((err as { errno?: number }).errno ?? 0)) throw err;
      retries += 1;
    }
  }
  return { claimed, retries };
}

async function timedClaims(
  workers: mysql.Connection[],
  rows: number,
  s: BenchSettings["ceiling"],
  deadlineMs: number,
) {
  const maxCycles = Math.ceil(rows / s.claimBatch) + 100;
  const startMs = performance.now();
  const results = await Promise.all(
    workers.map((conn, i) => claimWorker(conn, i + 1, s.claimBatch, deadlineMs, maxCycles)),
  );
  const seconds = (performance.now() - startMs) / 1000;
  const claimed = results.reduce((sum, r) => sum + r.claimed, 0);
  const retries = results.reduce((sum, r) => sum + r.retries, 0);
  const run: RunResult & { retries: number } = {
    count: claimed,
    expected: rows,
    seconds,
    perSecond: claimed / seconds,
    isComplete: claimed === rows,
    retries,
    ...(claimed === rows ? {} : { problem: `claimed ${claimed}/${rows}` }),
  };
  return run;
}

/**
 * Runs the ceiling measurements (warm-up, then settings.runs runs each) in a scratch database.
 * `insertsOnly` skips the claim cycle (the fan-out workload needs only the INSERT rows to compare to).
 */
export async function measureDatabaseCeiling(
  server: MysqlServer,
  settings: BenchSettings,
  options: { insertsOnly?: boolean } = {},
): Promise<CeilingMeasurement[]> {
  const s = settings.ceiling;
  const database = `${server.databasePrefix}_${randomBytes(5).toString("hex")}`;
  const admin = await connectMysql(server);
  const connections: mysql.Connection[] = [];
  try {
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    for (let i = 0; i < s.claimWorkers; i++) connections.push(await connectMysql(server, database));
    for (const conn of connections) {
      await conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    }
    const main = connections[0] as mysql.Connection;
    await main.query(
      `CREATE TABLE ceiling_insert (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
         created_at_ms BIGINT NOT NULL, payload BLOB NOT NULL) ENGINE=InnoDB`,
    );
    await main.query(
      `CREATE TABLE ceiling_queue (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
         status TINYINT NOT NULL DEFAULT 0, claimed_by INT NULL,
         created_at_ms BIGINT NOT NULL, payload BLOB NOT NULL,
         KEY ceiling_queue_claim (status, id)) ENGINE=InnoDB`,
    );

    const deadline = () => performance.now() + settings.runTimeoutMs;
    const inserts: Record<InsertProtocol, RunResult[]> = { prepared: [], text: [] };
    for (const protocol of ["prepared", "text"] as const) {
      await timedInserts(main, s.warmupStatements, protocol, s, deadline());
      for (let i = 0; i < settings.runs; i++) {
        inserts[protocol].push(await timedInserts(main, s.insertStatements, protocol, s, deadline()));
      }
    }
    const rows = `${s.rowsPerStatement.toLocaleString("en-US")} × 1 KiB rows per INSERT`;
    const insertRowsMeasured: CeilingMeasurement[] = [
      { id: "ceiling-insert", title: `${rows}, prepared`, runs: inserts.prepared },
      { id: "ceiling-insert-text", title: `${rows}, text (as knex sends)`, runs: inserts.text },
    ];
    if (options.insertsOnly) return insertRowsMeasured;
    // Frees the buffer pool for the claim phase (the default pool is only 128 MiB).
    await main.query("TRUNCATE TABLE ceiling_insert");

    await fillQueue(main, s.warmupClaimRows, s.rowsPerStatement);
    await timedClaims(connections, s.warmupClaimRows, s, deadline());
    const claims: RunResult[] = [];
    for (let i = 0; i < settings.runs; i++) {
      await fillQueue(main, s.claimRows, s.rowsPerStatement);
      claims.push(await timedClaims(connections, s.claimRows, s, deadline()));
    }
    return [
      ...insertRowsMeasured,
      {
        id: "ceiling-claim",
        title: `claim ${s.claimBatch} SKIP LOCKED + UPDATE, ${s.claimWorkers} workers`,
        runs: claims,
      },
    ];
  } finally {
    await Promise.all(connections.map((c) => c.end().catch(() => {})));
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => {});
    await admin.end().catch(() => {});
  }
}
