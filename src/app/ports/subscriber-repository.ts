/** Storage port of subscribers and their webhook signing secrets. */
import type { NewSubscriber, Subscriber } from "../../domain/subscriber.js";
import type { Page, PageRequest } from "./paging.js";

export interface SubscriberPatch {
  name?: string;
  webhookUrl?: string;
  isActive?: boolean;
}

/** A subscriber's Standard Webhooks signing secrets; during a rotation's overlap both sign. */
export interface SigningKeys {
  current: string;
  previous: string | null;
  previousExpiresAtMs: number | null;
}

export interface SubscriberRepository {
  insert(subscriber: NewSubscriber, signingSecret: string, nowMs: number): Promise<Subscriber>;
  findSigningKeys(id: bigint): Promise<SigningKeys | undefined>;
  /** Makes `secret` current; the old one keeps signing until `previousExpiresAtMs`. */
  rotateSigningSecret(id: bigint, secret: string, previousExpiresAtMs: number, nowMs: number): Promise<void>;
  /** Seals again every signing secret stored plain or under a non-primary key; returns how many rows changed. */
  resealSigningSecrets(): Promise<number>;
  findById(id: bigint): Promise<Subscriber | undefined>;
  /** The oldest subscriber of the client with that name (names are not unique). */
  findByName(clientId: bigint, name: string): Promise<Subscriber | undefined>;
  list(page: PageRequest, filter: { clientId?: bigint }): Promise<Page<Subscriber>>;
  update(id: bigint, patch: SubscriberPatch, nowMs: number): Promise<Subscriber>;
  delete(id: bigint): Promise<void>;
}
