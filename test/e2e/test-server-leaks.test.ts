/**
 * The leak check every test server runs when it stops (test/support/test-server.ts): it must see an
 * open Subscribe stream and a listening port, or it could never fail.
 */
import { describe, expect, it } from "vitest";
import { createFixture, text } from "../support/fixtures.js";
import { testDatabaseTargets } from "../support/test-databases.js";
import { assertNothingLeaked, startTestServer } from "../support/test-server.js";

describe("the test server's leak check", () => {
  it("names an open stream and a listening port, and passes once the server stopped", async () => {
    const [sqlite] = testDatabaseTargets();
    if (!sqlite) throw new Error("SQLite is always a test target");
    const db = await sqlite.create();
    const t = await startTestServer(db);
    try {
      const f = await createFixture(t);
      const abort = new AbortController();
      const iterator = t.subscriber
        .subscribe({ subscription: f.subscription }, { signal: abort.signal })
        [Symbol.asyncIterator]();
      await f.publish([{ data: text("held") }]);
      await iterator.next();

      const check = assertNothingLeaked(t.server);
      await expect(check).rejects.toThrow(/1 Subscribe stream\(s\) still open/);
      await expect(check).rejects.toThrow(/port \d+ still accepts connections/);

      abort.abort();
      await iterator.next().catch(() => undefined);
    } finally {
      await t.stop();
      await db.drop();
    }
    await expect(assertNothingLeaked(t.server)).resolves.toBeUndefined();
  });
});
