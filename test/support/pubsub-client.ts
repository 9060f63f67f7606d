import { type ClientConfig, type Message, PubSub, type Subscription } from "@google-cloud/pubsub";

/** The project id the compatibility tests name; Herald accepts any. */
export const PROJECT = "herald-test";

/**
 * Official `@google-cloud/pubsub` clients pointed at a Herald server through PUBSUB_EMULATOR_HOST,
 * exactly as a team using the emulator would. Every client is closed by `closeAll`.
 */
export function pubsubClients(serverUrl: () => string) {
  const open: PubSub[] = [];
  return {
    create(options: ClientConfig = {}): PubSub {
      // No GCE metadata lookups: they only produce warnings off Google Cloud.
      process.env.METADATA_SERVER_DETECTION = "none";
      process.env.PUBSUB_EMULATOR_HOST = serverUrl().replace(/^https?:\/\//, "");
      const client = new PubSub({ projectId: PROJECT, ...options });
      open.push(client);
      return client;
    },
    async closeAll(): Promise<void> {
      await Promise.all(open.splice(0).map((c) => c.close().catch(() => {})));
    },
  };
}

/**
 * Listens on `subscription` and hands each message to `onMessage` until `isDone()` holds after a
 * message (or `onMessage` calls the `stop` it is given, e.g. after a deferred ack), then closes the
 * subscription (flushing its acks). Rejects on a subscription error or after `timeoutMs`.
 */
export function consume(
  subscription: Subscription,
  onMessage: (message: Message, stop: () => void) => void,
  isDone: () => boolean = () => false,
  timeoutMs = 60_000,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    const finish = (error?: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      subscription.removeAllListeners("message");
      subscription.close().then(
        () => (error ? reject(error) : resolve()),
        (closeError: unknown) => reject(error ?? closeError),
      );
    };
    const timer = setTimeout(() => finish(new Error(`consume timed out after ${timeoutMs} ms`)), timeoutMs);
    subscription.on("error", (error) => finish(error));
    subscription.on("message", (message: Message) => {
      try {
        onMessage(message, () => finish());
      } catch (error) {
        finish(error);
        return;
      }
      if (isDone()) finish();
    });
  });
}

/** The text of every message `subscription` delivers until `count` arrived, sorted; each is acked. */
export async function receiveAll(subscription: Subscription, count: number): Promise<string[]> {
  const seen: string[] = [];
  await consume(
    subscription,
    (m: Message) => {
      seen.push(m.data.toString());
      m.ack();
    },
    () => seen.length >= count,
  );
  return seen.sort();
}
