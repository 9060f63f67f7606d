import { describe, expect, it } from "vitest";
import { parseDatabaseUrl, parseMysqlUrl } from "./database-url.js";

describe("parseMysqlUrl", () => {
  it("reads one host with its port, user, password and database", () => {
    expect(parseMysqlUrl("mysql://app:p%40ss@db.example:3307/herald")).toEqual({
      kind: "mysql",
      host: "db.example",
      port: 3307,
      hosts: [{ host: "db.example", port: 3307 }],
      user: "app",
      password: "p@ss",
      database: "herald",
    });
  });

  it("reads a comma-separated host list in order, with 3306 where no port is given", () => {
    expect(parseMysqlUrl("mysql://root@10.0.0.1:3306,10.0.0.2,[::1]:3308/herald")?.hosts).toEqual([
      { host: "10.0.0.1", port: 3306 },
      { host: "10.0.0.2", port: 3306 },
      { host: "::1", port: 3308 },
    ]);
  });

  it("accepts a URL without user and the mariadb scheme", () => {
    expect(parseMysqlUrl("mariadb://h1:1,h2:2/db")).toMatchObject({ user: "", password: "", database: "db" });
  });

  it.each([
    "mysql://root@h1:3306,,h2/db",
    "mysql://root@h1:99999/db",
    "mysql://root@/db",
    "mysql://root@h1:3306",
    "postgres://h1/db",
  ])("refuses %s", (url) => {
    expect(parseMysqlUrl(url)).toBeUndefined();
  });

  it("leaves sqlite URLs to the sqlite branch", () => {
    expect(parseDatabaseUrl("sqlite::memory:")).toEqual({ kind: "sqlite", filename: ":memory:" });
  });
});
