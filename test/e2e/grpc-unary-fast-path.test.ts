/**
 * The gRPC unary fast path (src/transport/grpc-unary-fast-path.ts) must answer exactly as connect
 * does. Each case sends the same bytes and headers twice to the real server: once to the method's
 * path, which the fast path serves (gRPC, binary, identity encoding), and once with a query string
 * appended, which the fast path does not recognise (it matches the exact path) while connect's router
 * and the request gate strip it — so that copy takes connect's own pipeline. HTTP status, response
 * headers, trailers (grpc-status, grpc-message, grpc-status-details-bin) and body must be equal.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { ErrorDetailSchema } from "../../gen/herald/v1/errors_pb.js";
import { PublisherService, PublishRequestSchema } from "../../gen/herald/v1/publisher_service_pb.js";
import { AcknowledgeRequestSchema, SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";
import { text } from "../support/fixtures.js";
import { RawHttp2Client, type RawResponse } from "../support/raw-http2-client.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const ADMIN_TOKEN = "fast-path-admin-token-0123456789";
const PUBLISH = `/${PublisherService.typeName}/${PublisherService.method.publish.name}`;
const ACKNOWLEDGE = `/${SubscriberService.typeName}/${SubscriberService.method.acknowledge.name}`;
/** Appended to a path to route the call through connect instead of the fast path. */
const VIA_CONNECT = "?via=connect";
/** grpc-status 0: connect's Code enum starts at 1. */
const OK = 0;

/** A gRPC length-prefixed frame: flags, 4-byte big-endian length, message. */
function frame(message: Uint8Array, flags = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(flags, 0);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

interface Case {
  name: string;
  path: string;
  token: string;
  body: Buffer;
  /** The status the case is about, so it cannot quietly test something else. */
  expected: Code | typeof OK;
  contentType?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** The ErrorDetail the answer must carry (grpc-status-details-bin). */
  detail?: { reason: string; field: string };
}

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "gRPC unary fast path against connect on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let raw: RawHttp2Client;
    let publisherKey = "";
    let subscriberKey = "";

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(db, {}, { env: { HERALD_ADMIN_TOKENS: ADMIN_TOKEN } });
      const asAdmin: Interceptor = (next) => (req) => {
        req.header.set("authorization", `Bearer ${ADMIN_TOKEN}`);
        return next(req);
      };
      const admin = createClient(
        AdminService,
        createGrpcTransport({ baseUrl: t.server.url, interceptors: [asAdmin] }),
      );
      await admin.createTopic({ code: "fp.t", name: "granted" });
      await admin.createTopic({ code: "fp.other", name: "not granted" });
      publisherKey = (await admin.createPublisher({ code: "fp-pub", name: "p", allowedTopics: ["fp.t"] }))
        .apiKey;
      const subscriber = await admin.createSubscriber({ clientId: 1n, name: "s" });
      subscriberKey = subscriber.apiKey;
      await admin.createSubscription({
        name: "fp-sub",
        subscriberId: subscriber.subscriber?.id ?? 0n,
        topic: "fp.t",
      });
      raw = new RawHttp2Client(t.server.url);
    });
    afterAll(async () => {
      raw?.close();
      await t?.stop();
      await db?.drop();
    });

    const publish = (init: Parameters<typeof create<typeof PublishRequestSchema>>[1]) =>
      frame(toBinary(PublishRequestSchema, create(PublishRequestSchema, init)));
    const acknowledge = (init: Parameters<typeof create<typeof AcknowledgeRequestSchema>>[1]) =>
      frame(toBinary(AcknowledgeRequestSchema, create(AcknowledgeRequestSchema, init)));

    const cases = (): Case[] => [
      {
        name: "Publish, accepted (the dedup id makes the second call answer the same message id)",
        path: PUBLISH,
        token: publisherKey,
        body: publish({
          publisher: "fp-pub",
          topic: "fp.t",
          messages: [{ data: text("x"), dedupId: "fp-1" }],
        }),
        expected: OK,
      },
      {
        name: "Publish, INVALID_ARGUMENT with an ErrorDetail naming the field",
        path: PUBLISH,
        token: publisherKey,
        body: publish({ publisher: "fp-pub", topic: "fp.t", messages: [] }),
        expected: Code.InvalidArgument,
        detail: { reason: "INVALID_ARGUMENT", field: "messages" },
      },
      {
        name: "Publish to an unknown topic, NOT_FOUND",
        path: PUBLISH,
        token: ADMIN_TOKEN,
        body: publish({ publisher: "fp-pub", topic: "fp.missing", messages: [{ data: text("x") }] }),
        expected: Code.NotFound,
      },
      {
        name: "Publish to a topic the key is not granted, PERMISSION_DENIED",
        path: PUBLISH,
        token: publisherKey,
        body: publish({ publisher: "fp-pub", topic: "fp.other", messages: [{ data: text("x") }] }),
        expected: Code.PermissionDenied,
      },
      {
        name: "Publish with an unknown key, UNAUTHENTICATED",
        path: PUBLISH,
        token: "not-a-key-0123456789",
        body: publish({ publisher: "fp-pub", topic: "fp.t", messages: [{ data: text("x") }] }),
        expected: Code.Unauthenticated,
      },
      {
        name: "Acknowledge of a forged ack id, accepted and reported",
        path: ACKNOWLEDGE,
        token: subscriberKey,
        body: acknowledge({ subscription: "fp-sub", ackIds: ["forged"] }),
        expected: OK,
      },
      {
        name: "Acknowledge on an unknown subscription, NOT_FOUND",
        path: ACKNOWLEDGE,
        token: ADMIN_TOKEN,
        body: acknowledge({ subscription: "fp-missing", ackIds: ["x"] }),
        expected: Code.NotFound,
      },
      {
        name: "a body that is not a PublishRequest",
        path: PUBLISH,
        token: publisherKey,
        body: frame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])),
        expected: Code.Internal, // connect's answer to a message that does not decode
      },
      {
        name: "an envelope shorter than its length prefix",
        path: PUBLISH,
        token: publisherKey,
        body: frame(Buffer.from("abc")).subarray(0, 6),
        expected: Code.InvalidArgument,
      },
      {
        name: "an empty body",
        path: PUBLISH,
        token: publisherKey,
        body: Buffer.alloc(0),
        expected: Code.Unimplemented,
      },
      {
        name: "a compressed frame without grpc-encoding",
        path: PUBLISH,
        token: publisherKey,
        body: frame(Buffer.from([0x0a, 0x00]), 1),
        expected: Code.Internal, // connect's code for a compressed frame it cannot decompress
      },
      {
        name: "two frames on a unary call",
        path: ACKNOWLEDGE,
        token: subscriberKey,
        body: Buffer.concat([
          acknowledge({ subscription: "fp-sub" }),
          acknowledge({ subscription: "fp-sub" }),
        ]),
        expected: Code.Unimplemented,
      },
      {
        name: "Acknowledge as application/grpc+proto",
        path: ACKNOWLEDGE,
        token: subscriberKey,
        body: acknowledge({ subscription: "fp-sub", ackIds: ["forged"] }),
        contentType: "application/grpc+proto",
        expected: OK,
      },
      {
        name: "Acknowledge with a grpc-timeout the call meets",
        path: ACKNOWLEDGE,
        token: subscriberKey,
        body: acknowledge({ subscription: "fp-sub", ackIds: ["forged"] }),
        headers: { "grpc-timeout": "30S" },
        expected: OK,
      },
      {
        name: "a grpc-timeout past the longest honoured one",
        path: PUBLISH,
        token: publisherKey,
        body: publish({ publisher: "fp-pub", topic: "fp.t", messages: [{ data: text("x") }] }),
        headers: { "grpc-timeout": "99999999H" },
        expected: Code.InvalidArgument,
      },
      {
        name: "a malformed grpc-timeout",
        path: PUBLISH,
        token: publisherKey,
        body: publish({ publisher: "fp-pub", topic: "fp.t", messages: [{ data: text("x") }] }),
        headers: { "grpc-timeout": "soon" },
        expected: Code.InvalidArgument,
      },
    ];

    /** The response as a client sees it; `date` is the only header allowed to differ. */
    const visible = (res: RawResponse) => {
      const { date: _date, ...headers } = res.headers;
      return { httpStatus: res.httpStatus, headers, trailers: res.trailers, body: res.body.toString("hex") };
    };

    it("answers every case exactly as connect does", async () => {
      const all = cases();
      for (const [i, c] of all.entries()) {
        const send = (path: string) =>
          raw.request({
            path,
            headers: {
              "content-type": c.contentType ?? "application/grpc",
              te: "trailers",
              authorization: `Bearer ${c.token}`,
              "x-request-id": `fast-path-case-${i}`,
              ...c.headers,
            },
            body: c.body,
          });
        const fast = await send(c.path);
        const viaConnect = await send(`${c.path}${VIA_CONNECT}`);
        // grpc-status travels in the trailers, or in the headers of a trailers-only answer.
        const status = fast.trailers["grpc-status"] ?? fast.headers["grpc-status"];
        expect(visible(fast), c.name).toEqual(visible(viaConnect));
        expect(Number(status), c.name).toBe(c.expected);
        if (c.detail) {
          const error = findTrailerError(new Headers(fast.trailers));
          const [detail] = error?.findDetails(ErrorDetailSchema) ?? [];
          expect({ reason: detail?.reason, field: detail?.field }, c.name).toEqual(c.detail);
        }
      }
    });
  },
);
