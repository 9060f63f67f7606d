/** Source of the current time, injected everywhere so that rules are testable without sleeps. */
export interface Clock {
  /** Current instant as epoch milliseconds. */
  nowMs(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock that only moves when told to; for tests. */
export class FakeClock implements Clock {
  constructor(private currentMs = Date.UTC(2026, 0, 1)) {}
  nowMs(): number {
    return this.currentMs;
  }
  advanceMs(ms: number): void {
    this.currentMs += ms;
  }
  setMs(ms: number): void {
    this.currentMs = ms;
  }
}
