import type { Knex } from "knex";
import type { PushRateSlotRepository } from "../app/ports/push-rate-slot-repository.js";
import { idParam, toNumber } from "./row-values.js";

/** Tries before a reservation gives up (each loss means another instance just reserved slots). */
const MAX_TRIES = 20;

/**
 * push_rate_slots: `next_slot_at_ms` is the first free slot of a subscription. A reservation reads
 * it and moves it forward with `UPDATE … WHERE next_slot_at_ms = <read value>`; a 0-row answer means
 * another instance moved it first, and the reservation reads again. Autocommit statements: no lock is
 * held between the read and the guarded write.
 */
export class KnexPushRateSlotRepository implements PushRateSlotRepository {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async reserve(subscriptionId: bigint, count: number, intervalMs: number, nowMs: number): Promise<number> {
    const id = idParam(subscriptionId);
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const row = (await this.db("push_rate_slots")
        .select("next_slot_at_ms")
        .where({ subscription_id: id })
        .first()) as { next_slot_at_ms: unknown } | undefined;
      if (!row) {
        await this.db("push_rate_slots")
          .insert({ subscription_id: id, next_slot_at_ms: 0 })
          .onConflict("subscription_id")
          .ignore();
        continue;
      }
      const seen = toNumber(row.next_slot_at_ms);
      const startMs = Math.max(seen, nowMs);
      const won = await this.db("push_rate_slots")
        .where({ subscription_id: id, next_slot_at_ms: seen })
        .update({ next_slot_at_ms: Math.round(startMs + count * intervalMs) });
      if (won === 1) return startMs;
    }
    throw new Error(`could not reserve push slots for subscription ${subscriptionId}: too much contention`);
  }
}
