import { describe, expect, it } from "vitest";
import { StreamOutbox } from "./stream-outbox.js";

describe("StreamOutbox", () => {
  it("hands responses over in order and settles each put once it was taken", async () => {
    const outbox = new StreamOutbox<string>();
    const taken: string[] = [];
    const first = outbox.put("a").then(() => taken.push("a settled"));
    void outbox.put("b");
    await outbox.ready();
    expect(outbox.take()).toBe("a");
    await first;
    expect(taken).toEqual(["a settled"]);
    expect(outbox.take()).toBe("b");
    expect(outbox.take()).toBeUndefined();
  });

  it("wakes a waiting writer when a response arrives", async () => {
    const outbox = new StreamOutbox<string>();
    const ready = outbox.ready();
    expect(outbox.ready()).toBe(ready);
    void outbox.put("x");
    await ready;
    expect(outbox.take()).toBe("x");
  });

  it("releases waiting producers on close and drops later puts", async () => {
    const outbox = new StreamOutbox<string>();
    const pending = outbox.put("a");
    outbox.close();
    await pending;
    await outbox.put("b");
    expect(outbox.take()).toBeUndefined();
  });
});
