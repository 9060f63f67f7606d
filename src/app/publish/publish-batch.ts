import { type AttributeFilter, parseAttributeFilter } from "../../domain/attribute-filter.js";
import { matchesIdentifier } from "../../domain/identifier-filter.js";
import type { OutgoingMessage } from "../../domain/message.js";
import type { MessageToStore } from "../ports/message-repository.js";
import type { FannedOutLease } from "../ports/queue-repository.js";
import type { Repositories } from "../ports/store.js";
import type { TraceScope } from "../ports/tracing.js";
import type { HandoffLease } from "./direct-handoff.js";

/** One validated Publish request, its publisher and topic resolved. */
export interface PublishRequest {
  publisherId: bigint;
  topicId: bigint;
  messages: readonly OutgoingMessage[];
  /** The publishing call's span (tracing on): its group commit's database spans go under it. */
  traceScope?: TraceScope;
}

/** What a group commit stored. */
export interface StoredBatch {
  /** Each request's message ids in request order. */
  messageIds: bigint[][];
  /** Per hand-off (same order), the rows leased for its taker. */
  leases: FannedOutLease[][];
}

/**
 * Stores several Publish requests in the caller's transaction with one multi-row insert and one
 * set-based fan-out for all of them. Dedup ids are per publisher: one seen within the window
 * returns the original id; a repeat inside the batch (same request or another) shares the first
 * one's id. Then leases, for each hand-off, the rows just fanned out to its subscription (see
 * direct-handoff.ts): deliveries that start at the commit, with no claim of their own.
 */
export async function storePublishBatch(
  repos: Repositories,
  requests: readonly PublishRequest[],
  nowMs: number,
  dedupWindowMs: number,
  handoffs: readonly HandoffLease[] = [],
): Promise<StoredBatch> {
  // Live dedup entries, per publisher.
  const known = new Map<bigint, Map<string, bigint>>();
  for (const r of requests) {
    const ids = r.messages.map((m) => m.dedupId).filter((id) => id !== "");
    if (ids.length === 0) continue;
    const live = await repos.dedup.findLive(r.publisherId, ids, nowMs);
    const merged = known.get(r.publisherId) ?? new Map<string, bigint>();
    for (const [k, v] of live) merged.set(k, v);
    known.set(r.publisherId, merged);
  }

  // Plan: which (request, position) become new rows; dedup repeats point at their first occurrence.
  const toInsert: MessageToStore[] = [];
  const slotIsNew = new Set<string>(); // `${request}:${position}` of messages that get a new row
  const firstOf = new Map<string, number>(); // `${publisherId}:${dedupId}` → index into toInsert
  const aliasOf = new Map<string, number>(); // `${request}:${position}` → index into toInsert
  requests.forEach((r, request) => {
    r.messages.forEach((m, position) => {
      if (m.dedupId !== "") {
        if (known.get(r.publisherId)?.has(m.dedupId)) return;
        const key = `${r.publisherId}:${m.dedupId}`;
        const first = firstOf.get(key);
        if (first !== undefined) {
          aliasOf.set(`${request}:${position}`, first);
          return;
        }
        firstOf.set(key, toInsert.length);
      }
      aliasOf.set(`${request}:${position}`, toInsert.length);
      slotIsNew.add(`${request}:${position}`);
      toInsert.push({
        topicId: r.topicId,
        publisherId: r.publisherId,
        data: m.data,
        attributes: m.attributes,
        orderingKey: m.orderingKey,
        identifier: m.identifier,
        createdAtMs: nowMs,
        ...(m.traceContext !== undefined ? { traceContext: m.traceContext } : {}),
        deliverAtMs: m.deliverAtMs,
      });
    });
  });

  const newIds = toInsert.length > 0 ? await repos.messages.insertMany(toInsert) : [];
  const dedupByPublisher = new Map<bigint, { dedupId: string; messageId: bigint }[]>();
  for (const [key, index] of firstOf) {
    const separator = key.indexOf(":");
    const publisherId = BigInt(key.slice(0, separator));
    const entries = dedupByPublisher.get(publisherId) ?? [];
    entries.push({ dedupId: key.slice(separator + 1), messageId: newIds[index] as bigint });
    dedupByPublisher.set(publisherId, entries);
  }
  for (const [publisherId, entries] of dedupByPublisher) {
    await repos.dedup.record(publisherId, entries, nowMs, dedupWindowMs);
  }
  await repos.queue.fanOut(newIds, nowMs);
  await fanOutFiltered(repos, toInsert, newIds, nowMs);

  const leases: FannedOutLease[][] = [];
  for (const handoff of handoffs) {
    // Only rows this batch created: a duplicate's original was fanned out (and maybe acked) before.
    const ids = new Set<bigint>();
    for (const { request, position } of handoff.slots) {
      if (!slotIsNew.has(`${request}:${position}`)) continue;
      const index = aliasOf.get(`${request}:${position}`);
      const id = index === undefined ? undefined : newIds[index];
      if (id !== undefined) ids.add(id);
    }
    const grant = {
      owner: handoff.owner,
      method: "grpc" as const,
      leaseExpiresAtMs: nowMs + handoff.leaseMs,
    };
    leases.push(
      ids.size > 0 ? await repos.queue.leaseFannedOut(handoff.subscriptionId, [...ids], grant, nowMs) : [],
    );
  }

  const messageIds = requests.map((r, request) =>
    r.messages.map((m, position) => {
      const index = aliasOf.get(`${request}:${position}`);
      const id =
        (m.dedupId !== "" ? known.get(r.publisherId)?.get(m.dedupId) : undefined) ??
        (index === undefined ? undefined : newIds[index]);
      if (id === undefined)
        throw new Error(`publish: request ${request} position ${position} got no message id`);
      return id;
    }),
  );
  return { messageIds, leases };
}

/** Parsed filters by source: a subscription's filter is parsed once, not per publish. */
const parsedFilters = new Map<string, AttributeFilter>();

function filterOf(source: string): AttributeFilter {
  let parsed = parsedFilters.get(source);
  if (!parsed) {
    if (parsedFilters.size >= 10_000) parsedFilters.clear();
    parsed = parseAttributeFilter(source);
    parsedFilters.set(source, parsed);
  }
  return parsed;
}

/**
 * Queue rows for subscriptions with an attribute filter: the set-based fan-out leaves them out,
 * because the filter language is evaluated here, once per message, not in SQL. Messages the filter
 * rejects never become deliveries (as in Pub/Sub, where they are acknowledged automatically).
 */
async function fanOutFiltered(
  repos: Repositories,
  stored: readonly MessageToStore[],
  ids: readonly bigint[],
  nowMs: number,
): Promise<void> {
  if (ids.length === 0) return;
  const topicIds = [...new Set(stored.map((m) => m.topicId))];
  const targets = await repos.queue.listFilteredTargets(topicIds);
  for (const target of targets) {
    const filter = filterOf(target.attributeFilter);
    const matching = ids.filter((_, i) => {
      const m = stored[i] as MessageToStore;
      return (
        m.topicId === target.topicId &&
        matchesIdentifier(target.identifierFilter, m.identifier) &&
        filter.matches(m.attributes)
      );
    });
    await repos.queue.fanOutTo(target.subscriptionId, matching, nowMs);
  }
}
