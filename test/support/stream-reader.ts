import type { ReceivedMessage, SubscribeResponse } from "../../gen/herald/v1/subscriber_service_pb.js";

/**
 * Reads a Subscribe stream in the background, handing each batch to `onBatch`. `done` settles when
 * the stream ends (with its error, if any); `stop()` cancels it and waits for the end.
 */
export function readStream(
  open: (signal: AbortSignal) => AsyncIterable<SubscribeResponse>,
  onBatch: (messages: ReceivedMessage[]) => void | Promise<void>,
): { done: Promise<unknown>; stop(): Promise<void> } {
  const controller = new AbortController();
  const done = (async () => {
    try {
      for await (const response of open(controller.signal)) await onBatch(response.receivedMessages);
      return undefined;
    } catch (error) {
      return error;
    }
  })();
  return {
    done,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

/** Resolves once `condition()` holds, checking after every event loop turn up to `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves with `read()`'s value once `accept` holds for it, re-reading every 20 ms up to `timeoutMs`. */
export async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 20_000,
  what = "condition",
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
