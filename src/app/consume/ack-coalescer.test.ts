import { describe, expect, it } from "vitest";
import type { Subscription } from "../../domain/subscription.js";
import { AckCoalescer } from "./ack-coalescer.js";
import { encodeAckId } from "./ack-id.js";
import type { AckOutcome } from "./delivery-service.js";

const subscription = { id: 1n } as Subscription;
const ack = (queueId: bigint) => encodeAckId({ queueId, leaseToken: 1n });

describe("AckCoalescer", () => {
  it("runs an idle subscription's ack at once and batches the ones that arrive meanwhile", async () => {
    const calls: string[][] = [];
    let release: (() => void) | undefined;
    const coalescer = new AckCoalescer(async (_s, ids) => {
      calls.push([...ids]);
      if (calls.length === 1) await new Promise<void>((r) => (release = r));
      return { invalidAckIds: ids.filter((id) => id === "bad"), settled: [] } satisfies AckOutcome;
    });
    const first = coalescer.acknowledge(subscription, [ack(1n)]);
    const second = coalescer.acknowledge(subscription, [ack(2n), "bad"]);
    const third = coalescer.acknowledge(subscription, [ack(3n)]);
    expect(calls).toEqual([[ack(1n)]]);
    release?.();
    const results = await Promise.all([first, second, third]);
    expect(calls).toEqual([[ack(1n)], [ack(2n), "bad", ack(3n)]]);
    expect(results.map((r) => r.invalidAckIds)).toEqual([[], ["bad"], []]);
  });

  it("gives each caller only its own settled leases, and every caller the error of a failed batch", async () => {
    let fail = false;
    const coalescer = new AckCoalescer(async (_s, ids) => {
      if (fail) throw new Error("database down");
      return { invalidAckIds: [], settled: ids.map((_, i) => ({ queueId: BigInt(i + 1), leaseToken: 1n })) };
    });
    const outcome = await coalescer.acknowledge(subscription, [ack(1n)]);
    expect(outcome.settled).toEqual([{ queueId: 1n, leaseToken: 1n }]);
    fail = true;
    await expect(coalescer.acknowledge(subscription, [ack(1n)])).rejects.toThrow("database down");
  });
});
