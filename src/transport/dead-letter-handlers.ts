import type { ServiceImpl } from "@connectrpc/connect";
import {
  type DeadLetterFilter,
  type DeadLetterService,
  ResolutionFilter,
} from "../../gen/herald/v1/dead_letter_service_pb.js";
import type { DeadLetterAdmin, DeadLetterFilterInput } from "../app/dead-letters/dead-letter-admin.js";
import { DomainError } from "../domain/domain-error.js";
import { deadLetterToPb, dlqStatsToPb, timestampToMs } from "./operations-conversion.js";

function filterFromPb(f: DeadLetterFilter | undefined): DeadLetterFilterInput {
  const input: DeadLetterFilterInput = {
    subscription: f?.subscription ?? "",
    failureReason: f?.failureReason ?? "",
  };
  switch (f?.resolution ?? ResolutionFilter.UNSPECIFIED) {
    case ResolutionFilter.UNSPECIFIED:
      break;
    case ResolutionFilter.RESOLVED:
      input.resolved = true;
      break;
    case ResolutionFilter.UNRESOLVED:
      input.resolved = false;
      break;
    default:
      throw DomainError.invalid("filter.resolution", "unknown value");
  }
  const movedAfterMs = timestampToMs("filter.moved_after", f?.movedAfter);
  const movedBeforeMs = timestampToMs("filter.moved_before", f?.movedBefore);
  if (movedAfterMs !== undefined) input.movedAfterMs = movedAfterMs;
  if (movedBeforeMs !== undefined) input.movedBeforeMs = movedBeforeMs;
  return input;
}

/** herald.v1.DeadLetterService. */
export function createDeadLetterHandlers(dlq: DeadLetterAdmin): ServiceImpl<typeof DeadLetterService> {
  return {
    async listDeadLetters(req) {
      const page = await dlq.list(filterFromPb(req.filter), req.pageSize, req.pageToken);
      return { deadLetters: page.items.map(deadLetterToPb), nextPageToken: page.nextPageToken };
    },
    async getDeadLetter(req) {
      return { deadLetter: deadLetterToPb(await dlq.get(req.id)) };
    },
    async getDeadLetterStats(req) {
      return { stats: dlqStatsToPb(await dlq.stats(req.subscription)) };
    },
    async replayDeadLetters(req, ctx) {
      const replayed = await dlq.replay({
        ids: req.ids,
        filter: req.filter ? filterFromPb(req.filter) : undefined,
        force: req.force,
        resolvedBy: req.resolvedBy,
        signal: ctx.signal,
      });
      return { replayedCount: BigInt(replayed) };
    },
    async resolveDeadLetters(req) {
      return { resolvedCount: BigInt(await dlq.resolve(req.ids, req.resolvedBy, req.note)) };
    },
    async purgeDeadLetters(req, ctx) {
      const purged = await dlq.purge({
        olderThanMs: timestampToMs("older_than", req.olderThan),
        includeUnresolved: req.includeUnresolved,
        subscription: req.subscription,
        signal: ctx.signal,
      });
      return { purgedCount: BigInt(purged) };
    },
  };
}
