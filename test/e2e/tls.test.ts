import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const ADMIN = "tls-admin-token-0123456789";

const withAdminToken: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${ADMIN}`);
  return next(req);
};

function postJson(
  url: string,
  path: string,
  body: object,
  ca: Buffer,
): Promise<{ status: number; alpn: string; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${url}${path}`,
      {
        method: "POST",
        ca,
        // A browser-like client offering only HTTP/1.1; the server must pick it through ALPN.
        ...({ ALPNProtocols: ["http/1.1"] } as object),
        headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` },
      },
      (res) => {
        // node:https speaks HTTP/1.1 only; the server must pick it through ALPN.
        const alpn = String((res.socket as unknown as { alpnProtocol: string | false }).alpnProtocol);
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            alpn,
            json: JSON.parse(Buffer.concat(chunks).toString()),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("TLS on %s", (_k, target) => {
  let db: TestDatabase;
  let certs: TestCertificates;
  let t: TestServer;

  beforeAll(async () => {
    db = await target.create();
    certs = makeTestCertificates();
    t = await startTestServer(
      db,
      {},
      {
        env: {
          HERALD_TLS_CERT: certs.serverCertFile,
          HERALD_TLS_KEY: certs.serverKeyFile,
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

  it("serves the connect client over TLS", async () => {
    expect(t.server.url).toMatch(/^https:/);
    const admin = createClient(
      AdminService,
      createGrpcTransport({
        baseUrl: t.server.url,
        nodeOptions: { ca: certs.caCert },
        interceptors: [withAdminToken],
      }),
    );
    const { topic } = await admin.createTopic({ code: "tls.connect", name: "over tls" });
    expect(topic?.code).toBe("tls.connect");
  });

  it("serves @grpc/grpc-js over TLS", async () => {
    const definition = protoLoader.loadSync("herald/v1/admin_service.proto", {
      includeDirs: [join(import.meta.dirname, "../../proto")],
      keepCase: true,
    });
    // biome-ignore lint/suspicious/noExplicitAny: untyped proto-loader package
    const pkg = grpc.loadPackageDefinition(definition) as any;
    const client = new pkg.herald.v1.AdminService(
      new URL(t.server.url).host,
      grpc.credentials.createSsl(certs.caCert),
    ) as grpc.Client &
      Record<string, (req: object, md: grpc.Metadata, cb: (e: Error | null, r: unknown) => void) => void>;
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${ADMIN}`);
    const res = await new Promise<{ topic: { code: string } }>((resolve, reject) =>
      client.CreateTopic?.({ code: "tls.grpcjs", name: "x" }, md, (e, r) =>
        e ? reject(e) : resolve(r as never),
      ),
    );
    expect(res.topic.code).toBe("tls.grpcjs");
    client.close();
  });

  it("serves Connect JSON over HTTPS/1.1 through ALPN", async () => {
    const res = await postJson(
      t.server.url,
      "/herald.v1.AdminService/GetTopic",
      { code: "tls.connect" },
      certs.caCert,
    );
    expect(res.alpn).toBe("http/1.1");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ topic: { code: "tls.connect" } });
  });

  it("requires a client certificate when HERALD_TLS_CLIENT_CA is set", async () => {
    const mtls = await startTestServer(
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
    try {
      const anonymous = createClient(
        AdminService,
        createGrpcTransport({
          baseUrl: mtls.server.url,
          nodeOptions: { ca: certs.caCert },
          interceptors: [withAdminToken],
        }),
      );
      await expect(anonymous.getTopic({ code: "tls.connect" })).rejects.toThrow();
      const withCert = createClient(
        AdminService,
        createGrpcTransport({
          baseUrl: mtls.server.url,
          nodeOptions: { ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey },
          interceptors: [withAdminToken],
        }),
      );
      expect((await withCert.getTopic({ code: "tls.connect" })).topic?.code).toBe("tls.connect");
    } finally {
      await mtls.stop();
    }
  });
});
