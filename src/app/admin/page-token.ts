import { DomainError } from "../../domain/domain-error.js";
import type { PageRequest } from "../ports/paging.js";

/** Default and largest page sizes of every List call. */
export const PAGE_SIZE = Object.freeze({ default: 100, max: 1000 });

/**
 * Page tokens are opaque to clients: base64url of `<list>:<last id>`. Naming the list makes a
 * token from another list (or a forged one) an INVALID_ARGUMENT instead of a silent wrong page.
 */
export function encodePageToken(list: string, lastId: bigint | null): string {
  if (lastId === null) return "";
  return Buffer.from(`${list}:${lastId.toString()}`, "utf8").toString("base64url");
}

/** Parses page_size and page_token of a List request for the named list. */
export function toPageRequest(list: string, pageSize: number, pageToken: string): PageRequest {
  if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > PAGE_SIZE.max) {
    throw DomainError.invalid(
      "page_size",
      `must be between 0 and ${PAGE_SIZE.max} (0 means ${PAGE_SIZE.default})`,
    );
  }
  const limit = pageSize === 0 ? PAGE_SIZE.default : pageSize;
  if (pageToken === "") return { afterId: null, limit };
  const decoded = /^[A-Za-z0-9_-]{1,200}$/.test(pageToken)
    ? Buffer.from(pageToken, "base64url").toString("utf8")
    : "";
  const match = /^([a-z_]+):(\d{1,19})$/.exec(decoded);
  if (!match || match[1] !== list) throw DomainError.invalid("page_token", "is not a token of this list");
  const afterId = BigInt(match[2] as string);
  if (afterId > 0x7fffffffffffffffn) throw DomainError.invalid("page_token", "is not a token of this list");
  return { afterId, limit };
}
