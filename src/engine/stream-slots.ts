import { DomainError } from "../domain/domain-error.js";

/**
 * Open-stream slots of one instance: a cap on all streams, and a smaller one per principal so
 * that one key cannot take every slot. `take` throws a resource_exhausted DomainError past either cap.
 */
export class StreamSlots {
  private total = 0;
  private readonly byPrincipal = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerPrincipal: number,
  ) {}

  /** Takes a slot for `principal` (undefined: only the instance's cap applies); returns its release. */
  take(principal: string | undefined): () => void {
    if (this.total >= this.maxTotal) {
      throw new DomainError("resource_exhausted", "TOO_MANY_STREAMS", "too many open streams on this server");
    }
    const held = principal === undefined ? 0 : (this.byPrincipal.get(principal) ?? 0);
    if (principal !== undefined && held >= this.maxPerPrincipal) {
      throw new DomainError(
        "resource_exhausted",
        "TOO_MANY_STREAMS_PER_PRINCIPAL",
        `too many open streams for these credentials (at most ${this.maxPerPrincipal})`,
      );
    }
    this.total += 1;
    if (principal !== undefined) this.byPrincipal.set(principal, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      if (principal === undefined) return;
      const left = (this.byPrincipal.get(principal) ?? 1) - 1;
      if (left === 0) this.byPrincipal.delete(principal);
      else this.byPrincipal.set(principal, left);
    };
  }

  /** Streams held by `principal` now. */
  heldBy(principal: string): number {
    return this.byPrincipal.get(principal) ?? 0;
  }
}
