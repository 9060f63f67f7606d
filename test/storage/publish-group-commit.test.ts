/**
 * A group commit the size Publish makes under load (5 calls of 1,000 messages in one transaction)
 * on every test database: SQLite refuses statements with more than 32,766 bound parameters, so
 * the multi-row inserts and id lists must be split (5,000 messages × 8 columns would not fit).
 */
import { describe, expect, it } from "vitest";
import { type PublishRequest, storePublishBatch } from "../../src/app/publish/publish-batch.js";
import type { OutgoingMessage } from "../../src/domain/message.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
  NOW_MS,
  useConformanceStore,
} from "./conformance-setup.js";

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "publish group commit on %s",
  (_kind, target) => {
    const store = useConformanceStore(target);

    it("stores a group commit of 5,000 messages with dedup ids and fan-out in one transaction", async () => {
      const s = store();
      const topic = await createTopic(s);
      const publisher = await createPublisher(s);
      const subscriber = await createSubscriber(s);
      const plain = await createSubscription(s, { topicId: topic.id, subscriberId: subscriber.id });
      const filtered = await createSubscription(s, {
        topicId: topic.id,
        subscriberId: subscriber.id,
        attributeFilter: 'attributes.kind = "even"',
      });
      const requests: PublishRequest[] = Array.from({ length: 5 }, (_, call) => ({
        publisherId: publisher.id,
        topicId: topic.id,
        messages: Array.from(
          { length: 1000 },
          (_, i): OutgoingMessage => ({
            data: new TextEncoder().encode(`call ${call} message ${i}`),
            attributes: { kind: i % 2 === 0 ? "even" : "odd" },
            orderingKey: `key-${i % 7}`,
            identifier: "",
            dedupId: `dedup-${call}-${i}`,
          }),
        ),
      }));

      const { messageIds: ids } = await s.transaction((repos) =>
        storePublishBatch(repos, requests, NOW_MS, 60_000),
      );

      const flat = ids.flat();
      expect(ids.map((r) => r.length)).toEqual([1000, 1000, 1000, 1000, 1000]);
      expect(new Set(flat).size).toBe(5000);
      expect(flat).toEqual([...flat].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      const last = flat[4999] as bigint;
      expect(new TextDecoder().decode((await s.repos.messages.findById(last))?.data)).toBe(
        "call 4 message 999",
      );
      const queued = await s.repos.queue.listByMessage(last);
      expect(queued.map((q) => q.subscriptionId)).toEqual([plain.id]);
      expect((await s.repos.queue.listByMessage(flat[4998] as bigint)).map((q) => q.subscriptionId)).toEqual([
        plain.id,
        filtered.id,
      ]);
      // The dedup ids were recorded: a repeat finds the original ids.
      const again = await s.transaction((repos) => storePublishBatch(repos, requests, NOW_MS + 1, 60_000));
      expect(again.messageIds).toEqual(ids);
    }, 60_000);
  },
);
