/**
 * The adaptive concurrency window of one push subscription (as Pub/Sub's push window): it starts
 * small, grows by one per success and halves on a failure — at most once per window's worth of
 * requests, as TCP cuts once per round trip. After a cut, failures of the requests already in
 * flight and of the next `size before the cut` requests are not cut for again: they show the same
 * trouble, not new trouble. So a receiver failing a fraction of its requests (a fifth answering
 * 500, a few hanging) keeps a large window and its healthy requests keep flowing; one failing
 * everything still shrinks to a single request.
 */
export class PushWindow {
  private current: number;
  /** Sequence number of the next request to start. */
  private nextSeq = 0;
  /** Failures of requests with a lower sequence number do not cut the window. */
  private cutBefore = 0;

  constructor(
    initial: number,
    private readonly max: number,
  ) {
    this.current = Math.max(1, Math.min(initial, max));
  }

  /** Most requests that may be in flight now. */
  get size(): number {
    return this.current;
  }

  /** Records the start of a request; pass the returned ticket to `failed`. */
  started(): number {
    return this.nextSeq++;
  }

  succeeded(): void {
    this.current = Math.min(this.max, this.current + 1);
  }

  /** Halves the window, unless it was cut since a window's worth of requests before this one. */
  failed(ticket: number): void {
    if (ticket < this.cutBefore) return;
    this.cutBefore = this.nextSeq + this.current;
    this.current = Math.max(1, Math.floor(this.current / 2));
  }
}
