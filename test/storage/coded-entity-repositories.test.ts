/**
 * Conformance of PublisherRepository and TopicRepository (same shape: code, name, description,
 * isActive, timestamps) on every test database.
 */
import { describe, expect, it } from "vitest";
import type { Page } from "../../src/app/ports/paging.js";
import type { PublisherRepository } from "../../src/app/ports/publisher-repository.js";
import type { TopicRepository } from "../../src/app/ports/topic-repository.js";
import type { Publisher } from "../../src/domain/publisher.js";
import type { Topic } from "../../src/domain/topic.js";
import type { KnexStore } from "../../src/storage/knex-store.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createTopic,
  expectDomainError,
  insertSeveral,
  messageToStore,
  NOW_MS,
  unique,
  useConformanceStore,
} from "./conformance-setup.js";

type CodedRepository = PublisherRepository | TopicRepository;

const repositories: [string, (store: KnexStore) => CodedRepository, string][] = [
  ["publishers", (store) => store.repos.publishers, "PUBLISHER_ALREADY_EXISTS"],
  ["topics", (store) => store.repos.topics, "TOPIC_ALREADY_EXISTS"],
];

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "coded entities on %s",
  (_kind, target) => {
    const store = useConformanceStore(target);

    describe.each(repositories)("%s", (table, repoOf, alreadyExistsReason) => {
      it("inserts an active entity and finds it by code with every field", async () => {
        const code = unique("orders.created");
        const inserted = await repoOf(store()).insert(
          { code, name: "Orders ✓", description: "Every order — «créé» 🚀" },
          NOW_MS,
        );
        expect(typeof inserted.id).toBe("bigint");
        expect(inserted).toEqual({
          id: inserted.id,
          code,
          name: "Orders ✓",
          description: "Every order — «créé» 🚀",
          isActive: true,
          createdAtMs: NOW_MS,
          updatedAtMs: NOW_MS,
          // A new topic retains no messages (Seek replays only what a retention keeps).
          ...(table === "topics" ? { messageRetentionMs: 0 } : {}),
        });
        expect(await repoOf(store()).findByCode(code)).toEqual(inserted);
      });

      it("returns undefined for an unknown code", async () => {
        expect(await repoOf(store()).findByCode(unique("missing"))).toBeUndefined();
      });

      it("throws ALREADY_EXISTS on a duplicate code and keeps the first entity", async () => {
        const code = unique("dup");
        const first = await repoOf(store()).insert({ code, name: "first", description: "" }, NOW_MS);
        await expectDomainError(
          repoOf(store()).insert({ code, name: "second", description: "" }, NOW_MS + 1),
          {
            kind: "already_exists",
            reason: alreadyExistsReason,
          },
        );
        expect(await repoOf(store()).findByCode(code)).toEqual(first);
      });

      it("treats codes as case-sensitive", async () => {
        const base = unique("case");
        const upper = await repoOf(store()).insert(
          { code: `Orders-${base}`, name: "U", description: "" },
          NOW_MS,
        );
        const lower = await repoOf(store()).insert(
          { code: `orders-${base}`, name: "L", description: "" },
          NOW_MS,
        );
        expect(upper.id).not.toBe(lower.id);
        expect((await repoOf(store()).findByCode(`Orders-${base}`))?.id).toBe(upper.id);
        expect((await repoOf(store()).findByCode(`orders-${base}`))?.id).toBe(lower.id);
        expect(await repoOf(store()).findByCode(`ORDERS-${base}`)).toBeUndefined();
      });

      it("updates each patched field and updatedAtMs, leaving the rest", async () => {
        const created = await repoOf(store()).insert(
          { code: unique("upd"), name: "before", description: "old" },
          NOW_MS,
        );
        const renamed = await repoOf(store()).update(created.id, { name: "after" }, NOW_MS + 5);
        expect(renamed).toEqual({ ...created, name: "after", updatedAtMs: NOW_MS + 5 });

        const deactivated = await repoOf(store()).update(
          created.id,
          { description: "", isActive: false },
          NOW_MS + 9,
        );
        expect(deactivated).toEqual({
          ...created,
          name: "after",
          description: "",
          isActive: false,
          updatedAtMs: NOW_MS + 9,
        });
        expect(await repoOf(store()).findByCode(created.code)).toEqual(deactivated);

        const reactivated = await repoOf(store()).update(created.id, { isActive: true }, NOW_MS + 10);
        expect(reactivated.isActive).toBe(true);
        expect(reactivated.createdAtMs).toBe(NOW_MS);
      });

      it("throws NOT_FOUND when updating an unknown id", async () => {
        await expectDomainError(repoOf(store()).update(987_654_321n, { name: "x" }, NOW_MS), {
          kind: "not_found",
          reason: alreadyExistsReason.replace("ALREADY_EXISTS", "NOT_FOUND"),
        });
      });

      it("deletes by id, frees the code, and ignores an unknown id", async () => {
        const code = unique("del");
        const created = await repoOf(store()).insert({ code, name: "gone", description: "" }, NOW_MS);
        await repoOf(store()).delete(created.id);
        expect(await repoOf(store()).findByCode(code)).toBeUndefined();
        await expect(repoOf(store()).delete(created.id)).resolves.toBeUndefined();
        const again = await repoOf(store()).insert({ code, name: "again", description: "" }, NOW_MS);
        expect(again.id).not.toBe(created.id);
      });

      it("pages by id: 5 rows with limit 2 give pages of 2, 2 and 1", async () => {
        const ids = await insertSeveral(5, () =>
          repoOf(store()).insert({ code: unique("page"), name: "p", description: "" }, NOW_MS),
        );
        const afterId = (ids[0] as bigint) - 1n;
        const first = await repoOf(store()).list({ afterId, limit: 2 });
        expect(first.items.map((e) => e.id)).toEqual(ids.slice(0, 2));
        expect(first.lastId).toBe(ids[1]);
        const second = await repoOf(store()).list({ afterId: first.lastId, limit: 2 });
        expect(second.items.map((e) => e.id)).toEqual(ids.slice(2, 4));
        expect(second.lastId).toBe(ids[3]);
        const third = await repoOf(store()).list({ afterId: second.lastId, limit: 2 });
        expect(third.items.map((e) => e.id)).toEqual(ids.slice(4));
        expect(third.lastId).toBeNull();
      });

      it("lists every row from the start in ascending id order with full fields", async () => {
        const created = await repoOf(store()).insert(
          { code: unique("all"), name: "n", description: "d" },
          NOW_MS,
        );
        const seen: bigint[] = [];
        let afterId: bigint | null = null;
        let found: unknown;
        for (let pages = 0; pages < 100; pages++) {
          const page: Page<Publisher | Topic> = await repoOf(store()).list({ afterId, limit: 3 });
          for (const item of page.items) {
            seen.push(item.id);
            if (item.id === created.id) found = item;
          }
          if (page.lastId === null) break;
          afterId = page.lastId;
        }
        expect(found).toEqual(created);
        expect(seen).toEqual([...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        expect(new Set(seen).size).toBe(seen.length);
      });
    });

    it("hasMessages is false until a message references the publisher and the topic", async () => {
      const s = store();
      const publisher = await createPublisher(s);
      const topic = await createTopic(s);
      const otherPublisher = await createPublisher(s);
      const otherTopic = await createTopic(s);
      expect(await s.repos.publishers.hasMessages(publisher.id)).toBe(false);
      expect(await s.repos.topics.hasMessages(topic.id)).toBe(false);
      await s.repos.messages.insertMany([messageToStore(topic.id, publisher.id)]);
      expect(await s.repos.publishers.hasMessages(publisher.id)).toBe(true);
      expect(await s.repos.topics.hasMessages(topic.id)).toBe(true);
      expect(await s.repos.publishers.hasMessages(otherPublisher.id)).toBe(false);
      expect(await s.repos.topics.hasMessages(otherTopic.id)).toBe(false);
    });

    it("keeps publishers and topics in separate code spaces", async () => {
      const code = unique("shared");
      const publisher = await createPublisher(store(), code);
      const topic = await createTopic(store(), code);
      expect((await store().repos.publishers.findByCode(code))?.id).toBe(publisher.id);
      expect((await store().repos.topics.findByCode(code))?.id).toBe(topic.id);
    });
  },
);
