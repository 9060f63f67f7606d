import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import type { Store } from "../ports/store.js";
import { newSigningSecret } from "../push/signing-secret.js";

/** The subscriber that owns subscriptions created through the google.pubsub.v1 API. */
export const PUBSUB_SUBSCRIBER = Object.freeze({ clientId: 1n, name: "google-pubsub" });

/**
 * The publisher and subscriber the google.pubsub.v1 API acts as, created on first use. Pub/Sub
 * has no publishers or subscribers of its own, Herald's model needs both; creating them lazily
 * (and tolerating another instance creating them at the same time) keeps the API zero-setup.
 */
export class PubsubIdentities {
  private subscriberId: Promise<bigint> | undefined;
  private publisherReady = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    readonly publisherCode: string,
  ) {}

  /** Makes sure the compatibility publisher exists; returns its code. */
  async publisher(): Promise<string> {
    if (this.publisherReady) return this.publisherCode;
    const repos = this.store.repos;
    if (!(await repos.publishers.findByCode(this.publisherCode))) {
      try {
        await repos.publishers.insert(
          {
            code: this.publisherCode,
            name: "Google Pub/Sub API",
            description: "Publishes messages sent through the google.pubsub.v1 API",
          },
          this.clock.nowMs(),
        );
      } catch (error) {
        // Another instance created it first.
        if (!(error instanceof DomainError && error.kind === "already_exists")) throw error;
      }
    }
    this.publisherReady = true;
    return this.publisherCode;
  }

  /**
   * Lets the compatibility publisher publish to a topic created through the google.pubsub.v1 API.
   * Callers publishing as it are admins (or the open loopback mode), who may publish anywhere
   * anyway; the grant matters only if an admin issues this publisher a key, which then reaches the
   * Pub/Sub API's topics and nothing else.
   */
  async grantTopic(topicId: bigint): Promise<void> {
    const code = await this.publisher();
    const publisher = await this.store.repos.publishers.findByCode(code);
    if (publisher) await this.store.repos.publisherGrants.grant(publisher.id, topicId);
  }

  /** The id of the subscriber compatibility subscriptions belong to. */
  subscriber(): Promise<bigint> {
    // One lookup per process; a failed one is retried on the next call. Two instances starting at
    // once may each create one: both are valid owners, and findByName settles on the oldest.
    this.subscriberId ??= this.findOrCreateSubscriber().catch((error: unknown) => {
      this.subscriberId = undefined;
      throw error;
    });
    return this.subscriberId;
  }

  private async findOrCreateSubscriber(): Promise<bigint> {
    const { clientId, name } = PUBSUB_SUBSCRIBER;
    const found =
      (await this.store.repos.subscribers.findByName(clientId, name)) ??
      (await this.store.repos.subscribers.insert(
        { clientId, name, webhookUrl: "" },
        newSigningSecret(),
        this.clock.nowMs(),
      ));
    return found.id;
  }
}
