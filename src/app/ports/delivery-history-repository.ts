/** Storage port of the console's charts: delivery outcomes per minute, counted by the database from the notification log. */

/** Which deliveries to count; every set field narrows. */
export interface DeliveryHistoryFilter {
  subscriptionId?: bigint;
  subscriberId?: bigint;
  /** Only log rows created at or after this instant, ms. */
  sinceMs: number;
}

/** Deliveries logged in one minute (rows created in [minuteStartMs, minuteStartMs + 60 000)). */
export interface MinuteDeliveries {
  minuteStartMs: number;
  sent: number;
  failed: number;
}

export interface DeliveryHistoryRepository {
  /** Minutes with at least one sent or failed delivery, oldest first (empty minutes are left out). */
  deliveriesPerMinute(filter: DeliveryHistoryFilter): Promise<MinuteDeliveries[]>;
}
