/**
 * What the consumers of one subscription saw, for the audit: every delivery (stream, Pull or
 * webhook), every confirmed ack or 2xx answer, what the dead-letter queue holds, and the
 * invariants checked as deliveries arrive (one stream per outstanding message, per-key order).
 * Messages are identified by their chaos id: the message data, also used as the dedup_id.
 */

/** Where an ordered message sits in its key's publish order. */
export interface OrderSlot {
  key: string;
  seq: number;
}

export interface LedgerOptions {
  /** Flag a message delivered to a second holder while the first still holds it (no ack or nack sent yet). */
  checkExclusive?: boolean;
  /** Check per-key order with this lookup (ordered subscriptions). */
  orderOf?: (chaosId: string) => OrderSlot | undefined;
}

const SAMPLE = 10;

export class DeliveryLedger {
  /** Deliveries seen per chaos id (a redelivery counts again). */
  readonly receipts = new Map<string, number>();
  /** Chaos ids a consumer acked (ack answered without listing it invalid) or the webhook answered 2xx. */
  readonly acked = new Set<string>();
  /** Chaos ids found in the dead-letter queue, with their failure reason. */
  readonly dead = new Map<string, string>();
  /** Herald message ids seen per chaos id: more than one means the dedup_id did not hold. */
  readonly messageIds = new Map<string, Set<string>>();
  invalidAcks = 0;
  /** Ack calls that failed on every instance tried (the messages come back). */
  ackCallsAbandoned = 0;
  /**
   * Chaos ids in an ack call that failed (e.g. its instance was killed mid-call): the ack may still
   * have committed. The audit resolves them against the queue: a row `sent` means the ack did commit.
   */
  readonly uncertainAcks = new Set<string>();
  /** Chaos ids confirmed acked that way (the consumer's ack committed though its reply was lost). */
  readonly ackedUnconfirmed = new Set<string>();
  nacks = 0;
  /** A second ack of the same ack ids that reported some of them invalid. */
  secondAckInvalid = 0;
  readonly exclusivityViolations: string[] = [];
  exclusivityViolationCount = 0;
  readonly orderViolations: string[] = [];
  orderViolationCount = 0;
  /** When acks (or 2xx pushes) were confirmed, in order. */
  readonly ackTimesMs: number[] = [];
  private readonly holders = new Map<string, string>();
  private readonly highestSeq = new Map<string, number>();

  constructor(
    readonly subscription: string,
    private readonly options: LedgerOptions = {},
  ) {}

  /** Records one delivery of `chaosId` (Herald id `messageId`) to `holder` (a stream or the webhook). */
  received(holder: string, chaosId: string, messageId: string): void {
    this.receipts.set(chaosId, (this.receipts.get(chaosId) ?? 0) + 1);
    let ids = this.messageIds.get(chaosId);
    if (!ids) {
      ids = new Set();
      this.messageIds.set(chaosId, ids);
    }
    ids.add(messageId);
    if (this.options.checkExclusive) {
      const other = this.holders.get(messageId);
      if (other !== undefined && other !== holder) {
        this.exclusivityViolationCount += 1;
        if (this.exclusivityViolations.length < SAMPLE) {
          this.exclusivityViolations.push(`${chaosId} delivered to ${holder} while outstanding on ${other}`);
        }
      }
      this.holders.set(messageId, holder);
    }
    const slot = this.options.orderOf?.(chaosId);
    if (slot) {
      const highest = this.highestSeq.get(slot.key) ?? -1;
      if (slot.seq < highest || slot.seq > highest + 1) {
        this.orderViolationCount += 1;
        if (this.orderViolations.length < SAMPLE) {
          this.orderViolations.push(`key ${slot.key}: seq ${slot.seq} delivered after seq ${highest}`);
        }
      }
      this.highestSeq.set(slot.key, Math.max(highest, slot.seq));
    }
  }

  /** `holder` no longer holds these messages: it sent their ack or nack, or its stream ended. */
  released(holder: string, messageIds: Iterable<string>): void {
    if (!this.options.checkExclusive) return;
    for (const id of messageIds) if (this.holders.get(id) === holder) this.holders.delete(id);
  }

  acknowledged(chaosIds: Iterable<string>): void {
    let any = false;
    for (const id of chaosIds) {
      this.acked.add(id);
      any = true;
    }
    if (any) this.ackTimesMs.push(Date.now());
  }

  /** When the first ack (or 2xx push) at or after `ms` happened; undefined when none did. */
  firstAckAfter(ms: number): number | undefined {
    return this.ackTimesMs.find((t) => t >= ms);
  }

  /** Deliveries beyond the first, summed over messages (at-least-once duplicates). */
  duplicateDeliveries(): number {
    let n = 0;
    for (const count of this.receipts.values()) n += count - 1;
    return n;
  }

  /** Chaos ids delivered more than once. */
  redeliveredMessages(): number {
    let n = 0;
    for (const count of this.receipts.values()) if (count > 1) n += 1;
    return n;
  }

  /** Chaos ids stored as more than one Herald message (a broken dedup_id). */
  storedDuplicates(): string[] {
    return [...this.messageIds].filter(([, ids]) => ids.size > 1).map(([chaosId]) => chaosId);
  }

  isAccounted(chaosId: string): boolean {
    return this.acked.has(chaosId) || this.dead.has(chaosId) || this.ackedUnconfirmed.has(chaosId);
  }
}
