import type { Knex } from "knex";
import type { LeaseGrant } from "../domain/queue-item.js";

/** The columns a claim writes (domain `claim`): leased under the next token until the grant's expiry. */
export function leaseColumns(
  db: Knex | Knex.Transaction,
  grant: LeaseGrant,
  nowMs: number,
): Record<string, unknown> {
  return {
    status: "leased",
    lease_owner: grant.owner,
    lease_token: db.raw("lease_token + 1"),
    lease_expires_at_ms: grant.leaseExpiresAtMs,
    // A leased row becomes claimable again only when its lease expires.
    available_at_ms: grant.leaseExpiresAtMs,
    delivery_method: grant.method,
    last_attempt_at_ms: nowMs,
    first_attempt_at_ms: db.raw("COALESCE(first_attempt_at_ms, ?)", [nowMs]),
    updated_at_ms: nowMs,
  };
}
