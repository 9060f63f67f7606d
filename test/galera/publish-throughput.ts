/**
 * An indicative publish throughput on one database: the Publish use case in this process (no
 * gRPC), 4 concurrent publishers of 100-message batches fanned out to one subscription, for
 * `seconds`. Returns messages per second.
 */
import { PublishMessages } from "../../src/app/publish/publish-messages.js";
import { systemClock } from "../../src/domain/clock.js";
import { openStore } from "../../src/storage/open-store.js";
import {
  createPublisher,
  createSubscriber,
  createSubscription,
  createTopic,
} from "../storage/conformance-setup.js";

export async function measurePublishThroughput(databaseUrl: string, seconds: number): Promise<number> {
  const store = await openStore({ databaseUrl, poolMax: 8 });
  try {
    const publisher = await createPublisher(store);
    const topic = await createTopic(store);
    const subscriber = await createSubscriber(store);
    await createSubscription(store, { topicId: topic.id, subscriberId: subscriber.id });
    const publishing = new PublishMessages(store, systemClock, 60_000);
    const until = Date.now() + seconds * 1000;
    let published = 0;
    const loop = async () => {
      while (Date.now() < until) {
        const messages = Array.from({ length: 100 }, () => ({
          data: new Uint8Array(200),
          attributes: {},
          orderingKey: "",
          identifier: "",
          dedupId: "",
        }));
        await publishing.publish({ publisher: publisher.code, topic: topic.code, messages });
        published += messages.length;
      }
    };
    const started = Date.now();
    await Promise.all([loop(), loop(), loop(), loop()]);
    return (published * 1000) / (Date.now() - started);
  } finally {
    await store.close();
  }
}
