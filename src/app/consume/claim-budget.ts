/**
 * How many bytes one claim may load. Candidates are taken in claim order while they fit `maxBytes`;
 * the first one may be larger, up to `firstMaxBytes`, so that a message larger than any response
 * (or than a stream's whole budget, when the stream holds nothing) can still travel alone. The
 * claim stops at the first candidate that does not fit instead of skipping to smaller later ones,
 * which keeps delivery in order.
 */
export interface ClaimBudget {
  /** Most bytes of the candidates taken together. */
  maxBytes: number;
  /** Most bytes of the first candidate when it travels alone; at least `maxBytes`. */
  firstMaxBytes: number;
}

export interface BudgetedTake<T> {
  taken: T[];
  /** Size of the first candidate left behind for lack of bytes; undefined when none was. */
  heldBackSizeBytes: number | undefined;
}

/** The prefix of `candidates` that fits `budget` (see ClaimBudget). */
export function takeWithinBudget<T extends { sizeBytes: number }>(
  candidates: readonly T[],
  budget: ClaimBudget,
): BudgetedTake<T> {
  const taken: T[] = [];
  let bytes = 0;
  for (const candidate of candidates) {
    const limit = taken.length === 0 ? Math.max(budget.maxBytes, budget.firstMaxBytes) : budget.maxBytes;
    if (bytes + candidate.sizeBytes > limit) return { taken, heldBackSizeBytes: candidate.sizeBytes };
    taken.push(candidate);
    bytes += candidate.sizeBytes;
  }
  return { taken, heldBackSizeBytes: undefined };
}
