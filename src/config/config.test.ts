import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("defaults to loopback port 8085 and the embedded SQLite file", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8085,
      databaseUrl: "sqlite:./data/herald.db",
      dedupWindowMs: 86_400_000,
      logLevel: "info",
    });
  });

  it("serves the web console unless HERALD_CONSOLE_ENABLED is false, and names the variable when it is neither", () => {
    expect(loadConfig({}).isConsoleEnabled).toBe(true);
    expect(loadConfig({ HERALD_CONSOLE_ENABLED: "false" }).isConsoleEnabled).toBe(false);
    expect(loadConfig({ HERALD_CONSOLE_ENABLED: "0" }).isConsoleEnabled).toBe(false);
    expect(() => loadConfig({ HERALD_CONSOLE_ENABLED: "off" })).toThrow(
      /HERALD_CONSOLE_ENABLED must be true or false/,
    );
  });

  it("has documented defaults for the consumer limits and names each one when it is invalid", () => {
    expect(loadConfig({})).toMatchObject({
      maxStreamsPerKey: 1000,
      maxHealthWatches: 1000,
      maxResponseBytes: 4 * 1024 * 1024,
      streamRecheckMs: 5000,
    });
    const bad = () =>
      loadConfig({
        HERALD_MAX_STREAMS_PER_KEY: "0",
        HERALD_MAX_HEALTH_WATCHES: "-1",
        HERALD_MAX_RESPONSE_BYTES: "12",
        HERALD_STREAM_RECHECK_MS: "x",
      });
    expect(bad).toThrow(ConfigError);
    for (const name of [
      "HERALD_MAX_STREAMS_PER_KEY",
      "HERALD_MAX_HEALTH_WATCHES",
      "HERALD_MAX_RESPONSE_BYTES",
      "HERALD_STREAM_RECHECK_MS",
    ])
      expect(bad).toThrow(name);
  });

  it("parses IPv6 addresses and MySQL URLs", () => {
    const config = loadConfig({ HERALD_ADDR: "[::1]:9000", DATABASE_URL: "mysql://u:p@db:3306/herald" });
    expect(config.host).toBe("::1");
    expect(config.port).toBe(9000);
  });

  it("lists every invalid variable at once without echoing the database URL", () => {
    let error: unknown;
    try {
      loadConfig({
        HERALD_ADDR: "nope",
        DATABASE_URL: "postgres://user:secret@x/db",
        HERALD_DEDUP_WINDOW_SECONDS: "-1",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain("HERALD_ADDR");
    expect(message).toContain("DATABASE_URL");
    expect(message).toContain("HERALD_DEDUP_WINDOW_SECONDS");
    expect(message).not.toContain("secret");
  });

  it("rejects a MySQL URL without a database name", () => {
    expect(() => loadConfig({ DATABASE_URL: "mysql://root@127.0.0.1:3306" })).toThrow(/DATABASE_URL/);
  });

  it("leaves metrics off by default and parses HERALD_METRICS_ADDR like HERALD_ADDR", () => {
    expect(loadConfig({}).metricsAddr).toBeUndefined();
    expect(loadConfig({ HERALD_METRICS_ADDR: "[::]:9464" }).metricsAddr).toEqual({ host: "::", port: 9464 });
  });

  it("allows every push port by default and parses HERALD_PUSH_ALLOWED_PORTS as ports and ranges", () => {
    expect(loadConfig({}).webhooks.allowedPorts).toBe("any");
    expect(loadConfig({ HERALD_PUSH_ALLOWED_PORTS: "443, 8000-8999" }).webhooks.allowedPorts).toEqual([
      [443, 443],
      [8000, 8999],
    ]);
    for (const bad of ["0", "70000", "9000-8000", "https", "443,"]) {
      expect(() => loadConfig({ HERALD_PUSH_ALLOWED_PORTS: bad })).toThrow(/HERALD_PUSH_ALLOWED_PORTS/);
    }
  });

  it("names HERALD_METRICS_ADDR when it is malformed", () => {
    expect(() => loadConfig({ HERALD_METRICS_ADDR: "9464" })).toThrow(
      /HERALD_METRICS_ADDR must be host:port/,
    );
  });
});

describe("secure defaults", () => {
  it("runs without authentication only on a loopback address", () => {
    expect(loadConfig({ HERALD_ADDR: "127.0.0.1:1" }).auth.mode).toBe("open-loopback");
    expect(loadConfig({ HERALD_ADDR: "[::1]:1" }).auth.mode).toBe("open-loopback");
    expect(() => loadConfig({ HERALD_ADDR: "0.0.0.0:1" })).toThrow(/HERALD_ADMIN_TOKENS is required/);
    expect(loadConfig({ HERALD_ADDR: "0.0.0.0:1", HERALD_INSECURE: "1" }).auth.mode).toBe("open-insecure");
  });

  it("keeps only hashes of admin tokens and never echoes a bad one", () => {
    const config = loadConfig({
      HERALD_ADDR: "0.0.0.0:1",
      HERALD_ADMIN_TOKENS: "a-very-long-admin-token-1,another-admin-token-2",
    });
    expect(config.auth.mode).toBe("tokens");
    expect(config.auth.adminTokenHashes).toHaveLength(2);
    expect(JSON.stringify(config)).not.toContain("a-very-long-admin-token-1");
    expect(() => loadConfig({ HERALD_ADMIN_TOKENS: "short-secret" })).toThrow(/HERALD_ADMIN_TOKENS entry 1/);
    try {
      loadConfig({ HERALD_ADMIN_TOKENS: "short-secret" });
    } catch (error) {
      expect((error as Error).message).not.toContain("short-secret");
    }
  });

  it("needs TLS certificate and key together, and files that exist", () => {
    expect(() => loadConfig({ HERALD_TLS_CERT: "/nonexistent/cert.pem" })).toThrow(
      /HERALD_TLS_CERT and HERALD_TLS_KEY/,
    );
    expect(() => loadConfig({ HERALD_TLS_CERT: "/nonexistent/a", HERALD_TLS_KEY: "/nonexistent/b" })).toThrow(
      /HERALD_TLS_CERT names a file that does not exist/,
    );
    expect(() => loadConfig({ HERALD_TLS_CLIENT_CA: "/x" })).toThrow(/HERALD_TLS_CLIENT_CA needs/);
  });
});
