import type { Clock } from "../../domain/clock.js";
import { DomainError } from "../../domain/domain-error.js";
import {
  type NewSubscriber,
  type Subscriber,
  validateClientId,
  validateWebhookUrl,
} from "../../domain/subscriber.js";
import { requireMaxBytes, requireNonEmpty, requirePrintable } from "../../domain/text-limits.js";
import type { Repositories, Store } from "../ports/store.js";
import type { SubscriberPatch } from "../ports/subscriber-repository.js";
import { newSigningSecret } from "../push/signing-secret.js";
import { issueKeyIn, rotateKeyIn } from "./api-key-admin.js";
import { encodePageToken, toPageRequest } from "./page-token.js";

function validateSubscriberName(name: string): void {
  requireNonEmpty("name", name);
  requireMaxBytes("name", name, 255);
  requirePrintable("name", name);
}

/** Longest overlap of a secret rotation, and the default. */
export const SECRET_OVERLAP = Object.freeze({
  defaultMs: 24 * 60 * 60 * 1000,
  maxMs: 7 * 24 * 60 * 60 * 1000,
});

/** Create/Get/List/Update/Delete of subscribers and their signing secrets. */
export class SubscriberAdmin {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly urlPolicy: { allowHttp: boolean },
  ) {}

  /** Creates the subscriber with a fresh signing secret and API key, both returned this once. */
  async create(
    input: NewSubscriber,
  ): Promise<{ subscriber: Subscriber; signingSecret: string; apiKey: string }> {
    validateClientId("client_id", input.clientId);
    validateSubscriberName(input.name);
    validateWebhookUrl("webhook_url", input.webhookUrl, this.urlPolicy);
    const signingSecret = newSigningSecret();
    return this.store.transaction(async (repos) => {
      const nowMs = this.clock.nowMs();
      const subscriber = await repos.subscribers.insert(input, signingSecret, nowMs);
      const apiKey = await issueKeyIn(repos, "subscriber", subscriber.id, nowMs);
      return { subscriber, signingSecret, apiKey };
    });
  }

  /** A new API key; the previous ones stay valid for the overlap only. */
  async rotateKey(
    id: bigint,
    overlapMs: number | undefined,
  ): Promise<{ key: string; previousExpiresAtMs: number }> {
    return this.store.transaction(async (repos) => {
      await this.getIn(repos, id);
      return rotateKeyIn(repos, "subscriber", id, overlapMs, this.clock.nowMs());
    });
  }

  /** A new signing secret; the old one keeps signing for `overlapMs` (both signatures are sent). */
  async rotateSecret(
    id: bigint,
    overlapMs: number | undefined,
  ): Promise<{ signingSecret: string; previousExpiresAtMs: number }> {
    const overlap = overlapMs ?? SECRET_OVERLAP.defaultMs;
    if (overlap > SECRET_OVERLAP.maxMs) throw DomainError.invalid("overlap", "must be at most 7 days");
    return this.store.transaction(async (repos) => {
      await this.getIn(repos, id);
      const signingSecret = newSigningSecret();
      const nowMs = this.clock.nowMs();
      await repos.subscribers.rotateSigningSecret(id, signingSecret, nowMs + overlap, nowMs);
      return { signingSecret, previousExpiresAtMs: nowMs + overlap };
    });
  }

  get(id: bigint): Promise<Subscriber> {
    return this.getIn(this.store.repos, id);
  }

  async list(
    pageSize: number,
    pageToken: string,
    clientId: bigint | undefined,
  ): Promise<{ items: Subscriber[]; nextPageToken: string }> {
    const page = toPageRequest("subscribers", pageSize, pageToken);
    if (clientId !== undefined) validateClientId("client_id", clientId);
    const result = await this.store.repos.subscribers.list(page, clientId === undefined ? {} : { clientId });
    return { items: result.items, nextPageToken: encodePageToken("subscribers", result.lastId) };
  }

  async update(id: bigint, patch: SubscriberPatch): Promise<Subscriber> {
    if (patch.name !== undefined) validateSubscriberName(patch.name);
    if (patch.webhookUrl !== undefined) validateWebhookUrl("webhook_url", patch.webhookUrl, this.urlPolicy);
    return this.store.transaction(async (repos) => {
      await this.getIn(repos, id);
      return repos.subscribers.update(id, patch, this.clock.nowMs());
    });
  }

  /** Subscriptions (even deleted ones) keep history that points at the subscriber, so it must have none. */
  async delete(id: bigint): Promise<void> {
    await this.store.transaction(async (repos) => {
      await this.getIn(repos, id);
      if ((await repos.subscriptions.countBySubscriber(id)) > 0) {
        throw DomainError.precondition(
          "SUBSCRIBER_HAS_SUBSCRIPTIONS",
          `subscriber ${id} has subscriptions; deactivate it instead`,
        );
      }
      await repos.apiKeys.deleteForOwner("subscriber", id);
      await repos.subscribers.delete(id);
    });
  }

  private async getIn(repos: Repositories, id: bigint): Promise<Subscriber> {
    if (id <= 0n) throw DomainError.invalid("id", "is required");
    const found = await repos.subscribers.findById(id);
    if (!found) throw DomainError.notFound("subscriber", id.toString());
    return found;
  }
}
