import type { Knex } from "knex";
import type { Page, PageRequest } from "../app/ports/paging.js";
import { idParam, toBigInt } from "./row-values.js";

/**
 * Keyset paging by primary key: fetches one row more than asked to learn whether another page
 * follows, so the last page never hands out a token to an empty page.
 */
export async function pageById<Row extends { id: unknown }, T>(
  query: Knex.QueryBuilder,
  page: PageRequest,
  map: (row: Row) => T,
  idColumn = "id",
  order: "asc" | "desc" = "asc",
): Promise<Page<T>> {
  // `afterId` is the last id of the previous page, in the list's own order.
  if (page.afterId !== null) query.where(idColumn, order === "asc" ? ">" : "<", idParam(page.afterId));
  const rows = (await query.orderBy(idColumn, order).limit(page.limit + 1)) as Row[];
  const hasMore = rows.length > page.limit;
  const kept = hasMore ? rows.slice(0, page.limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), lastId: hasMore && last ? toBigInt(last.id) : null };
}
