/**
 * What one consumer may ask for: outstanding messages and bytes of a stream (0 takes the default,
 * more is capped at the maximum), messages and wait of one Pull, and ack ids of one call.
 */
export const CONSUMER_LIMITS = Object.freeze({
  defaultMaxOutstandingMessages: 1000,
  maxOutstandingMessages: 100_000,
  defaultMaxOutstandingBytes: 100 * 1024 * 1024,
  /** The cap of a stream's requested outstanding bytes (a request may say up to 2^63). */
  maxOutstandingBytes: 2 ** 50,
  maxPullMessages: 1000,
  maxPullWaitMs: 30_000,
  maxAckIdsPerCall: 10_000,
});
