import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import {
  EVENTS_TOPIC,
  isPublishable,
  type OperationalEvent,
  operationalEventJson,
} from "../../domain/operational-event.js";
import type { Store } from "../ports/store.js";
import type { PublishMessages } from "../publish/publish-messages.js";

/** Where operational events go; the no-op sink is the default of code that may emit them. */
export interface OperationalEventSink {
  emit(event: OperationalEvent): void;
}

export const IGNORE_EVENTS: OperationalEventSink = { emit: () => {} };

/** The publisher operational events are published as (created on first use). */
export const EVENTS_PUBLISHER = "herald";

/**
 * Logs each operational event and publishes it to `herald.events` (topic and publisher created on
 * first use, tolerating another instance doing the same). Best effort: an event that cannot be
 * published (database down) is logged with the failure and not retried; the log line stays.
 */
export class OperationalEvents implements OperationalEventSink {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly publishing: PublishMessages,
    private readonly clock: Clock,
    private readonly log: (event: OperationalEvent) => void,
    private readonly onError: (event: OperationalEvent, error: unknown) => void,
  ) {}

  emit(event: OperationalEvent): void {
    this.log(event);
    if (!isPublishable(event)) return;
    void this.publish(event).catch((error: unknown) => this.onError(event, error));
  }

  private async publish(event: OperationalEvent): Promise<void> {
    this.ready ??= this.createTopicAndPublisher().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    await this.ready;
    await this.publishing.publish({
      publisher: EVENTS_PUBLISHER,
      topic: EVENTS_TOPIC,
      messages: [
        {
          data: new TextEncoder().encode(operationalEventJson(event)),
          attributes: { type: event.type, subscription: event.subscription },
          orderingKey: "",
          identifier: event.subscription,
          dedupId: "",
        },
      ],
    });
  }

  private async createTopicAndPublisher(): Promise<void> {
    const repos = this.store.repos;
    const nowMs = this.clock.nowMs();
    await ignoreAlreadyExists(async () => {
      if (!(await repos.topics.findByCode(EVENTS_TOPIC))) {
        await repos.topics.insert(
          { code: EVENTS_TOPIC, name: "Herald operational events", description: "See docs/webhook-push.md" },
          nowMs,
        );
      }
    });
    await ignoreAlreadyExists(async () => {
      if (!(await repos.publishers.findByCode(EVENTS_PUBLISHER))) {
        await repos.publishers.insert(
          { code: EVENTS_PUBLISHER, name: "Herald", description: "Publishes Herald's operational events" },
          nowMs,
        );
      }
    });
  }
}

async function ignoreAlreadyExists(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof DomainError && error.kind === "already_exists")) throw error;
  }
}
