/**
 * Responses a stream sends beside its message batches (exactly-once confirmations), taken by the
 * stream's writer in order. A producer's `put` settles once its response was taken, so a client
 * that stops reading holds back the acks it sends (their confirmations wait) instead of
 * queueing confirmations without bound.
 */
export class StreamOutbox<T> {
  private readonly queue: { value: T; taken: () => void }[] = [];
  private waiting: { promise: Promise<void>; resolve: () => void } | undefined;
  private isClosed = false;

  /** Queues `value`; resolves when the writer took it or the outbox closed. */
  put(value: T): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise<void>((taken) => {
      this.queue.push({ value, taken });
      this.waiting?.resolve();
      this.waiting = undefined;
    });
  }

  /** Resolves when a response is waiting (at once if one is); one shared promise per wait. */
  ready(): Promise<void> {
    if (this.queue.length > 0) return Promise.resolve();
    if (!this.waiting) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.waiting = { promise, resolve };
    }
    return this.waiting.promise;
  }

  /** The next waiting response, or undefined. */
  take(): T | undefined {
    const next = this.queue.shift();
    next?.taken();
    return next?.value;
  }

  /** Drops what is waiting and releases its producers; later puts are dropped at once. */
  close(): void {
    this.isClosed = true;
    for (const entry of this.queue.splice(0)) entry.taken();
  }
}
