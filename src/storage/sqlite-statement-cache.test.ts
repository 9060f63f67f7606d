import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { cachePreparedStatements } from "./sqlite-statement-cache.js";

describe("cachePreparedStatements", () => {
  it("returns the same prepared statement for the same SQL text", () => {
    const db = new Database(":memory:");
    cachePreparedStatements(db);
    expect(db.prepare("SELECT 1")).toBe(db.prepare("SELECT 1"));
    expect(db.prepare("SELECT 2")).not.toBe(db.prepare("SELECT 1"));
    db.close();
  });

  it("drops the least recently used statement past its bound", () => {
    const db = new Database(":memory:");
    cachePreparedStatements(db, 2);
    const one = db.prepare("SELECT 1");
    db.prepare("SELECT 2");
    db.prepare("SELECT 1"); // used again: SELECT 2 is now the oldest
    db.prepare("SELECT 3");
    expect(db.prepare("SELECT 1")).toBe(one);
    const two = db.prepare("SELECT 2");
    expect(db.prepare("SELECT 2")).toBe(two);
    db.close();
  });

  it("keeps answering correctly after the schema changes under a cached statement", () => {
    const db = new Database(":memory:");
    cachePreparedStatements(db);
    db.prepare("CREATE TABLE t (a INTEGER)").run();
    db.prepare("INSERT INTO t (a) VALUES (1)").run();
    expect(db.prepare("SELECT * FROM t").all()).toEqual([{ a: 1 }]);
    db.prepare("ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 7").run();
    expect(db.prepare("SELECT * FROM t").all()).toEqual([{ a: 1, b: 7 }]);
    db.close();
  });
});
