/** Bytes of the gRPC / Connect envelope header: one flag byte and a big-endian uint32 length. */
const ENVELOPE_PREFIX_BYTES = 5;

export interface BodyTrackerOptions {
  /** The body is a sequence of envelopes (a request stream); otherwise it is one message until it ends. */
  isFramed: boolean;
  /** Longest the body (or, framed, one started message) may take to arrive, ms. */
  timeoutMs: number;
  /** Change of the bytes this body holds (positive when received, negative when released). */
  onBytes(delta: number): void;
  onTimeout(): void;
}

/**
 * Follows one request body as it arrives and reports what it holds: a unary body holds all its
 * bytes until it ends; a request stream holds the bytes of its current incomplete message only
 * (complete messages are handed to the handler). A deadline runs while anything is incomplete.
 */
export class BodyTracker {
  private held = 0;
  private timer: NodeJS.Timeout | undefined;
  private isDone = false;
  /** Framed: bytes still missing from the current envelope header or message. */
  private headerBytes: number[] = [];
  private messageRemaining = 0;
  isCut = false;

  constructor(private readonly options: BodyTrackerOptions) {
    if (!options.isFramed) this.startTimer();
  }

  received(chunk: Buffer): void {
    if (this.isDone) return;
    if (!this.options.isFramed) {
      this.hold(chunk.length);
      return;
    }
    let offset = 0;
    while (offset < chunk.length && !this.isDone) {
      if (this.messageRemaining === 0) {
        if (this.headerBytes.length === 0) this.startTimer();
        this.headerBytes.push(chunk[offset] as number);
        offset += 1;
        this.hold(1);
        if (this.headerBytes.length === ENVELOPE_PREFIX_BYTES) {
          const length = Buffer.from(this.headerBytes).readUInt32BE(1);
          this.headerBytes = [];
          if (length === 0) this.messageComplete();
          else this.messageRemaining = length;
        }
        continue;
      }
      const take = Math.min(this.messageRemaining, chunk.length - offset);
      this.messageRemaining -= take;
      offset += take;
      this.hold(take);
      if (this.messageRemaining === 0) this.messageComplete();
    }
  }

  /** The client finished sending. */
  ended(): void {
    this.finish();
  }

  /** The stream closed (answered, reset or cut). */
  closed(): void {
    this.finish();
  }

  /** The gate ended the call; nothing more is counted. */
  cut(): void {
    this.isCut = true;
    this.finish();
  }

  private hold(bytes: number): void {
    if (this.isDone) return;
    this.held += bytes;
    this.options.onBytes(bytes);
  }

  private messageComplete(): void {
    this.stopTimer();
    const released = this.held;
    this.held = 0;
    if (released > 0) this.options.onBytes(-released);
  }

  private finish(): void {
    if (this.isDone) return;
    this.isDone = true;
    this.messageComplete();
  }

  private startTimer(): void {
    this.stopTimer();
    this.timer = setTimeout(() => this.options.onTimeout(), this.options.timeoutMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
