/** The `herald` CLI over TLS: https:// with --ca, and mTLS with --cert/--key (SQLite; TLS is not storage). */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { cliRunner } from "./cli-harness.js";

const ADMIN = "cli-tls-admin-token-0123456789";

describe("herald CLI over TLS", { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let certs: TestCertificates;
  let t: TestServer;

  beforeAll(async () => {
    const target = testDatabaseTargets()[0];
    if (!target) throw new Error("no test database");
    db = await target.create();
    certs = makeTestCertificates();
    t = await startTestServer(
      db,
      {},
      {
        env: {
          HERALD_TLS_CERT: certs.serverCertFile,
          HERALD_TLS_KEY: certs.serverKeyFile,
          HERALD_TLS_CLIENT_CA: certs.caCertFile,
          HERALD_ADMIN_TOKENS: ADMIN,
        },
      },
    );
  });
  afterAll(async () => {
    await t?.stop();
    await db?.drop();
    certs?.cleanup();
  });

  it("calls an mTLS server with --ca, --cert and --key, and fails clearly without them", async () => {
    expect(t.server.url).toMatch(/^https:/);
    const cli = cliRunner(t.server.url, ADMIN);
    const clientCert = join(certs.dir, "client.crt");
    const clientKey = join(certs.dir, "client.key");
    const [withCert, withoutCert, untrusted, missingCa, halfPair] = await Promise.all([
      cli.run([
        "topics",
        "create",
        "tls.topic",
        "--name",
        "x",
        "--ca",
        certs.caCertFile,
        "--cert",
        clientCert,
        "--key",
        clientKey,
        "--json",
      ]),
      cli.run(["health", "--ca", certs.caCertFile]),
      cli.run(["health", "--cert", clientCert, "--key", clientKey]),
      cli.run(["health", "--ca", join(certs.dir, "missing.crt")]),
      cli.run(["health", "--ca", certs.caCertFile, "--cert", clientCert]),
    ]);
    expect(withCert.code).toBe(0);
    expect(JSON.parse(withCert.stdout)).toMatchObject({ topic: { code: "tls.topic" } });
    // The server ends the handshake without a client certificate; an unknown CA fails verification.
    expect(withoutCert.code).toBe(10 + 14);
    expect(withoutCert.stderr).toBe(
      "herald: UNAVAILABLE: TLS handshake failed: tlsv13 alert certificate required (check --server, --ca, --cert and --key)\n",
    );
    expect(untrusted.code).toBe(10 + 14);
    expect(untrusted.stderr).toMatch(
      /^herald: UNAVAILABLE: TLS handshake failed: self-signed certificate in certificate chain /,
    );
    expect(missingCa.code).toBe(1);
    expect(missingCa.stderr).toMatch(/^herald: cannot read --ca .*missing\.crt: ENOENT/);
    expect([halfPair.code, halfPair.stderr]).toEqual([
      2,
      "herald: --cert and --key must be given together\n",
    ]);
  });
});
