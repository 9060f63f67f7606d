import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type StreamingPullRequest,
  StreamingPullRequestSchema,
  Subscriber,
} from "../../gen/google/pubsub/v1/pubsub_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { SubscriberService } from "../../gen/herald/v1/subscriber_service_pb.js";
import { readStream, until } from "../support/stream-reader.js";
import { type TestDatabase, testDatabaseTargets } from "../support/test-databases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const ADMIN_TOKEN = "stream-access-admin-token-0123";

/** Limits on open streams: who may keep one open, and how many one key may hold. */
describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "stream access and limits on %s",
  (_k, target) => {
    let db: TestDatabase;
    let t: TestServer;
    let counter = 0;

    const transportFor = (token: string) =>
      createGrpcTransport({
        baseUrl: t.server.url,
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ],
      });
    const admin = () => createClient(AdminService, transportFor(ADMIN_TOKEN));

    /** A subscriber with its key, a topic and one PULL subscription. */
    async function consumer() {
      counter += 1;
      const tag = `acc${counter}-${Math.random().toString(36).slice(2, 7)}`;
      await admin().createTopic({ code: tag, name: tag });
      const created = await admin().createSubscriber({ clientId: 1n, name: tag });
      const subscriberId = created.subscriber?.id ?? 0n;
      await admin().createSubscription({ name: tag, subscriberId, topic: tag });
      return {
        subscriberId,
        subscription: tag,
        key: created.apiKey,
        client: createClient(SubscriberService, transportFor(created.apiKey)),
        pubsub: createClient(Subscriber, transportFor(created.apiKey)),
      };
    }

    const subscribe = (c: Awaited<ReturnType<typeof consumer>>) =>
      readStream(
        (signal) => c.client.subscribe({ subscription: c.subscription }, { signal }),
        () => undefined,
      );

    beforeAll(async () => {
      db = await target.create();
      t = await startTestServer(
        db,
        {},
        {
          env: {
            HERALD_ADMIN_TOKENS: ADMIN_TOKEN,
            HERALD_STREAM_RECHECK_MS: "200",
            HERALD_MAX_STREAMS_PER_KEY: "2",
            HERALD_MAX_HEALTH_WATCHES: "2",
          },
        },
      );
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    it("ends an open Subscribe stream with PERMISSION_DENIED once its key is revoked", async () => {
      const c = await consumer();
      const stream = subscribe(c);
      await until(() => t.server.openStreams() === 1, 10_000, "the stream to open");
      await admin().rotateSubscriberKey({ id: c.subscriberId, overlap: { seconds: 0n } });
      const error = await Promise.race([
        stream.done,
        new Promise((resolve) => setTimeout(() => resolve("still open"), 5_000)),
      ]);
      expect(ConnectError.from(error).code).toBe(Code.PermissionDenied);
      await stream.stop();
      await until(() => t.server.openStreams() === 0, 10_000, "the stream to close");
    });

    it("ends open streams of a deactivated subscriber, whose key then stops authenticating", async () => {
      const c = await consumer();
      const stream = subscribe(c);
      await until(() => t.server.openStreams() === 1, 10_000, "the stream to open");
      await admin().updateSubscriber({ id: c.subscriberId, isActive: false });
      expect(ConnectError.from(await stream.done).code).toBe(Code.PermissionDenied);
      const refused = await c.client.pull({ subscription: c.subscription, maxMessages: 1 }).catch((e) => e);
      expect(ConnectError.from(refused).code).toBe(Code.Unauthenticated);
    });

    it("ends an open StreamingPull with NOT_FOUND once its subscription is deleted", async () => {
      const c = await consumer();
      const requests = async function* () {
        yield create(StreamingPullRequestSchema, {
          subscription: `projects/p/subscriptions/${c.subscription}`,
          streamAckDeadlineSeconds: 10,
        });
        await new Promise(() => undefined); // keep the request side open
      };
      const done = (async () => {
        try {
          for await (const _ of c.pubsub.streamingPull(requests())) {
            // nothing published
          }
          return undefined;
        } catch (error) {
          return error;
        }
      })();
      await until(() => t.server.openStreams() === 1, 10_000, "the stream to open");
      await admin().deleteSubscription({ name: c.subscription });
      expect(ConnectError.from(await done).code).toBe(Code.NotFound);
    });

    it("caps the streams one key holds open, leaving other keys their own", async () => {
      const a = await consumer();
      const b = await consumer();
      const open = [subscribe(a), subscribe(a)];
      await until(() => t.server.openStreams() === 2, 10_000, "two streams of one key");
      const third = subscribe(a);
      expect(ConnectError.from(await third.done).code).toBe(Code.ResourceExhausted);
      const other = subscribe(b);
      await until(() => t.server.openStreams() === 3, 10_000, "another key's stream");
      for (const s of [...open, other]) await s.stop();
      await until(() => t.server.openStreams() === 0, 10_000, "every stream to close");
    });

    it("caps open Health.Watch streams", async () => {
      const health = createClient(Health, createGrpcTransport({ baseUrl: t.server.url }));
      const controller = new AbortController();
      const watch = () =>
        (async () => {
          try {
            for await (const _ of health.watch({ service: "" }, { signal: controller.signal })) {
              // statuses are not the point
            }
            return undefined;
          } catch (error) {
            return error;
          }
        })();
      const first = [watch(), watch()];
      // Wait until both hold their slot: a third is refused, not queued.
      let refused: unknown;
      for (let attempt = 0; attempt < 50 && refused === undefined; attempt++) {
        const third = await Promise.race([watch(), new Promise((r) => setTimeout(() => r("open"), 100))]);
        if (third !== "open") refused = third;
      }
      expect(ConnectError.from(refused).code).toBe(Code.ResourceExhausted);
      controller.abort();
      await Promise.all(first);
    });

    it("refuses a StreamingPull request with more than 10,000 ack ids", async () => {
      const c = await consumer();
      const tooMany = Array.from({ length: 10_001 }, (_, i) => `id-${i}`);
      const requests = async function* (): AsyncGenerator<StreamingPullRequest> {
        yield create(StreamingPullRequestSchema, {
          subscription: `projects/p/subscriptions/${c.subscription}`,
          streamAckDeadlineSeconds: 10,
        });
        yield create(StreamingPullRequestSchema, { ackIds: tooMany });
        await new Promise(() => undefined);
      };
      let error: unknown;
      try {
        for await (const _ of c.pubsub.streamingPull(requests())) {
          // nothing published
        }
      } catch (e) {
        error = e;
      }
      expect(ConnectError.from(error).code).toBe(Code.InvalidArgument);
      expect(ConnectError.from(error).rawMessage).toContain("ack_ids");
      const deadlines = async function* (): AsyncGenerator<StreamingPullRequest> {
        yield create(StreamingPullRequestSchema, {
          subscription: `projects/p/subscriptions/${c.subscription}`,
          streamAckDeadlineSeconds: 10,
          modifyDeadlineAckIds: tooMany,
          modifyDeadlineSeconds: tooMany.map(() => 10),
        });
      };
      const refused = await (async () => {
        for await (const _ of c.pubsub.streamingPull(deadlines())) {
          // nothing published
        }
      })().catch((e: unknown) => e);
      expect(ConnectError.from(refused).code).toBe(Code.InvalidArgument);
      expect(ConnectError.from(refused).rawMessage).toContain("modify_deadline_ack_ids");
    });
  },
);
