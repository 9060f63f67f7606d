/** Conformance of Store.transaction and Store.ping on every test database. */
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/domain-error.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createTopic,
  expectDomainError,
  messageToStore,
  NOW_MS,
  subscriptionSettings,
  unique,
  useConformanceStore,
} from "./conformance-setup.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))("store on %s", (_kind, target) => {
  const store = useConformanceStore(target);

  it("answers ping and reports its kind", async () => {
    await expect(store().ping()).resolves.toBeUndefined();
    expect(store().kind).toBe(target.kind);
  });

  it("returns the value returned by the work and commits its writes", async () => {
    const code = unique("committed");
    const result = await store().transaction(async (repos) => {
      const topic = await repos.topics.insert({ code, name: "n", description: "" }, NOW_MS);
      // The transaction sees its own writes before commit.
      expect((await repos.topics.findByCode(code))?.id).toBe(topic.id);
      return { topicId: topic.id, answer: 42 };
    });
    expect(result.answer).toBe(42);
    expect((await store().repos.topics.findByCode(code))?.id).toBe(result.topicId);
  });

  it("rolls back every repository's writes when the work throws, rethrowing the same error", async () => {
    const s = store();
    const existingPublisher = await createPublisher(s);
    const existingTopic = await createTopic(s);
    const codes = { publisher: unique("rb-pub"), topic: unique("rb-topic"), subscription: unique("rb-sub") };
    const failure = new Error("boom");
    let written: { subscriberId: bigint; subscriptionId: bigint; messageId: bigint } | undefined;

    const outcome = await s
      .transaction(async (repos) => {
        await repos.publishers.insert({ code: codes.publisher, name: "p", description: "" }, NOW_MS);
        const topic = await repos.topics.insert({ code: codes.topic, name: "t", description: "" }, NOW_MS);
        const subscriber = await repos.subscribers.insert(
          { clientId: 77n, name: "s", webhookUrl: "" },
          "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
          NOW_MS,
        );
        const subscription = await repos.subscriptions.insert(
          {
            name: codes.subscription,
            topicId: topic.id,
            subscriberId: subscriber.id,
            deliveryType: "pull",
            ...subscriptionSettings(),
          },
          NOW_MS,
        );
        const [messageId] = await repos.messages.insertMany([
          messageToStore(topic.id, existingPublisher.id, { identifier: "rolled-back" }),
        ]);
        if (messageId === undefined) throw new Error("insertMany returned no id");
        await repos.dedup.record(existingPublisher.id, [{ dedupId: "rb", messageId }], NOW_MS, 60_000);
        expect(await repos.queue.fanOut([messageId], NOW_MS)).toBe(1);
        await repos.topics.update(existingTopic.id, { name: "renamed in vain" }, NOW_MS + 1);
        written = { subscriberId: subscriber.id, subscriptionId: subscription.id, messageId };
        throw failure;
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    expect(outcome).toBe(failure);
    if (!written) throw new Error("the work did not run to its throw");
    expect(await s.repos.publishers.findByCode(codes.publisher)).toBeUndefined();
    expect(await s.repos.topics.findByCode(codes.topic)).toBeUndefined();
    expect(await s.repos.subscribers.findById(written.subscriberId)).toBeUndefined();
    expect(await s.repos.subscriptions.findByName(codes.subscription)).toBeUndefined();
    expect(await s.repos.subscriptions.findById(written.subscriptionId)).toBeUndefined();
    expect(await s.repos.messages.findById(written.messageId)).toBeUndefined();
    expect(await s.repos.dedup.findLive(existingPublisher.id, ["rb"], NOW_MS)).toEqual(new Map());
    expect(await s.repos.queue.listByMessage(written.messageId)).toEqual([]);
    expect(await s.repos.publishers.hasMessages(existingPublisher.id)).toBe(false);
    expect(await s.repos.topics.findByCode(existingTopic.code)).toEqual(existingTopic);
  });

  it("rolls back earlier writes when a repository raises a DomainError, and passes the error on", async () => {
    const existing = await createTopic(store());
    const fresh = unique("rb-domain");
    await expectDomainError(
      store().transaction(async (repos) => {
        await repos.topics.insert({ code: fresh, name: "n", description: "" }, NOW_MS);
        await repos.topics.insert({ code: existing.code, name: "dup", description: "" }, NOW_MS);
      }),
      { kind: "already_exists", reason: "TOPIC_ALREADY_EXISTS" },
    );
    expect(await store().repos.topics.findByCode(fresh)).toBeUndefined();
  });

  it("stays usable after a rolled-back transaction", async () => {
    await expect(
      store().transaction(async () => {
        throw DomainError.precondition("NOPE", "nope");
      }),
    ).rejects.toBeInstanceOf(DomainError);
    const code = unique("after");
    await store().transaction((repos) =>
      repos.publishers.insert({ code, name: "n", description: "" }, NOW_MS),
    );
    expect(await store().repos.publishers.findByCode(code)).toBeDefined();
    await expect(store().ping()).resolves.toBeUndefined();
  });
});
