/**
 * Internal tuning of the composition root: values that are not settings (no operator needs to
 * change them) but that must still have a name and a reason. Limits a client can reach are
 * settings in config/config.ts instead.
 */

/** Largest request message accepted: the 10 MiB publish limit plus protobuf framing and attributes. */
export const READ_MAX_BYTES = 12 * 1024 * 1024;

/** Node's timers hold at most 2^31-1 ms; a larger client deadline would fire at once. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * Most messages one Subscribe stream claims per transaction: large enough that a fast consumer's
 * refill is a few transactions, small enough that one claim does not hold row locks for long.
 */
export const STREAM_CLAIM_BATCH_MAX = 500;

/**
 * How often a stream with outstanding messages checks they are still leased, ms: acks and nacks
 * handled by another instance free flow-control room only once this check sees them.
 */
export const STREAM_LEASE_CHECK_MS = 250;

/** How often the set of live, unpaused PUSH subscriptions is re-read, ms. */
export const PUSH_SUBSCRIPTIONS_REFRESH_MS = 1_000;
