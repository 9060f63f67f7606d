import type { Publisher } from "../../domain/publisher.js";
import { rotateKeyIn } from "./api-key-admin.js";
import type { CodedEntityAdmin } from "./coded-entity-admin.js";

/** A publisher's API keys: rotation in one transaction with the publisher's lookup. */
export class PublisherKeys {
  constructor(private readonly publishers: CodedEntityAdmin<Publisher>) {}

  /** A new API key; the previous ones stay valid for `overlapMs` (default 24 h, 0 revokes at once). */
  rotate(code: string, overlapMs: number | undefined): Promise<{ key: string; previousExpiresAtMs: number }> {
    return this.publishers.withEntity(code, (repos, publisher, nowMs) =>
      rotateKeyIn(repos, "publisher", publisher.id, overlapMs, nowMs),
    );
  }
}
