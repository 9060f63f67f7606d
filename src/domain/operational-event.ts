/**
 * Operational events Herald publishes to its system topic `herald.events` (and logs): what happened
 * to a subscription's delivery that an operator may want to act on. The JSON form is a documented
 * contract (docs/webhook-push.md#operational-events): add fields, never rename or remove them.
 */

/** The system topic operational events are published to (created on first use). */
export const EVENTS_TOPIC = "herald.events";

export type OperationalEventType =
  /** Herald paused push delivery (410 Gone, or failing with no success for the pause period). */
  | "subscription.paused"
  /** A run of failed pushes started (the previous push succeeded, or none was made). */
  | "endpoint.failing"
  /** A push succeeded after a run of failures. */
  | "endpoint.recovered"
  /** The subscription's unresolved dead letters reached the threshold. */
  | "dead_letters.threshold";

export interface OperationalEvent {
  type: OperationalEventType;
  atMs: number;
  subscription: string;
  topic: string;
  /** Type-specific facts; values are strings, numbers or null. */
  data: Readonly<Record<string, string | number | null>>;
}

/** The event as published: one JSON object, `type` first (schema version 1). */
export function operationalEventJson(event: OperationalEvent): string {
  return JSON.stringify({
    type: event.type,
    version: 1,
    time: new Date(event.atMs).toISOString(),
    subscription: event.subscription,
    topic: event.topic,
    data: event.data,
  });
}

/** Events about subscriptions of the events topic itself are only logged: a failing receiver of events must not feed itself. */
export function isPublishable(event: Pick<OperationalEvent, "topic">): boolean {
  return event.topic !== EVENTS_TOPIC;
}
