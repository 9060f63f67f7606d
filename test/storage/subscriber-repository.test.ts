/** Conformance of SubscriberRepository on every test database. */
import { describe, expect, it } from "vitest";
import { testDatabaseTargets } from "../support/test-databases.js";
import { expectDomainError, insertSeveral, NOW_MS, useConformanceStore } from "./conformance-setup.js";

/** Beyond Number.MAX_SAFE_INTEGER: survives only if client_id is read back as an exact int64. */
const HUGE_CLIENT_ID = 9_007_199_254_740_993n;

describe.each(testDatabaseTargets().map((t) => [t.kind, t] as const))(
  "subscribers on %s",
  (_kind, target) => {
    const store = useConformanceStore(target);

    it("inserts an active subscriber and finds it by id with every field", async () => {
      const inserted = await store().repos.subscribers.insert(
        {
          clientId: HUGE_CLIENT_ID,
          name: "Billing — ünïcode 🚀",
          webhookUrl: "https://hooks.example.com/a?b=c",
        },
        "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
        NOW_MS,
      );
      expect(inserted).toEqual({
        id: inserted.id,
        clientId: HUGE_CLIENT_ID,
        name: "Billing — ünïcode 🚀",
        webhookUrl: "https://hooks.example.com/a?b=c",
        isActive: true,
        createdAtMs: NOW_MS,
        updatedAtMs: NOW_MS,
      });
      expect(await store().repos.subscribers.findById(inserted.id)).toEqual(inserted);
    });

    it("keeps an empty webhook URL (pull-only subscriber)", async () => {
      const inserted = await store().repos.subscribers.insert(
        { clientId: 2n, name: "pull", webhookUrl: "" },
        "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
        NOW_MS,
      );
      expect((await store().repos.subscribers.findById(inserted.id))?.webhookUrl).toBe("");
    });

    it("returns undefined for an unknown id", async () => {
      expect(await store().repos.subscribers.findById(987_654_321n)).toBeUndefined();
    });

    it("updates each patched field and updatedAtMs, leaving the rest", async () => {
      const created = await store().repos.subscribers.insert(
        { clientId: 3n, name: "before", webhookUrl: "https://a.example.com" },
        "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
        NOW_MS,
      );
      const patched = await store().repos.subscribers.update(
        created.id,
        { name: "after", webhookUrl: "https://b.example.com/hook" },
        NOW_MS + 7,
      );
      expect(patched).toEqual({
        ...created,
        name: "after",
        webhookUrl: "https://b.example.com/hook",
        updatedAtMs: NOW_MS + 7,
      });
      const deactivated = await store().repos.subscribers.update(created.id, { isActive: false }, NOW_MS + 8);
      expect(deactivated).toEqual({ ...patched, isActive: false, updatedAtMs: NOW_MS + 8 });
      expect(await store().repos.subscribers.findById(created.id)).toEqual(deactivated);
      const reactivated = await store().repos.subscribers.update(created.id, { isActive: true }, NOW_MS + 9);
      expect(reactivated.isActive).toBe(true);
    });

    it("throws NOT_FOUND when updating an unknown id", async () => {
      await expectDomainError(store().repos.subscribers.update(987_654_321n, { name: "x" }, NOW_MS), {
        kind: "not_found",
        reason: "SUBSCRIBER_NOT_FOUND",
      });
    });

    it("deletes by id and ignores an unknown id", async () => {
      const created = await store().repos.subscribers.insert(
        { clientId: 4n, name: "gone", webhookUrl: "" },
        "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
        NOW_MS,
      );
      await store().repos.subscribers.delete(created.id);
      expect(await store().repos.subscribers.findById(created.id)).toBeUndefined();
      await expect(store().repos.subscribers.delete(created.id)).resolves.toBeUndefined();
    });

    it("pages one client's subscribers by id: 5 rows with limit 2 give pages of 2, 2 and 1", async () => {
      const clientId = 500n;
      const ids: bigint[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(
          (
            await store().repos.subscribers.insert(
              { clientId, name: `s${i}`, webhookUrl: "" },
              "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
              NOW_MS,
            )
          ).id,
        );
        // Another client's rows interleave and must not appear in the filtered pages.
        await store().repos.subscribers.insert(
          { clientId: 501n, name: `other${i}`, webhookUrl: "" },
          "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
          NOW_MS,
        );
      }
      const filter = { clientId };
      const first = await store().repos.subscribers.list({ afterId: null, limit: 2 }, filter);
      expect(first.items.map((s) => s.id)).toEqual(ids.slice(0, 2));
      expect(first.items.every((s) => s.clientId === clientId)).toBe(true);
      expect(first.lastId).toBe(ids[1]);
      const second = await store().repos.subscribers.list({ afterId: first.lastId, limit: 2 }, filter);
      expect(second.items.map((s) => s.id)).toEqual(ids.slice(2, 4));
      expect(second.lastId).toBe(ids[3]);
      const third = await store().repos.subscribers.list({ afterId: second.lastId, limit: 2 }, filter);
      expect(third.items.map((s) => s.id)).toEqual(ids.slice(4));
      expect(third.lastId).toBeNull();
    });

    it("filters by an exact int64 client id", async () => {
      const big = await store().repos.subscribers.insert(
        { clientId: HUGE_CLIENT_ID + 1n, name: "big", webhookUrl: "" },
        "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
        NOW_MS,
      );
      // HUGE_CLIENT_ID and HUGE_CLIENT_ID + 1 are the same double: a lossy comparison would mix them.
      const page = await store().repos.subscribers.list(
        { afterId: null, limit: 10 },
        { clientId: HUGE_CLIENT_ID + 1n },
      );
      expect(page.items).toEqual([big]);
      expect(page.lastId).toBeNull();
    });

    it("lists every client's subscribers without a filter", async () => {
      let clientId = 600n;
      const ids = await insertSeveral(3, () =>
        store().repos.subscribers.insert(
          { clientId: clientId++, name: "n", webhookUrl: "" },
          "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
          NOW_MS,
        ),
      );
      const page = await store().repos.subscribers.list({ afterId: (ids[0] as bigint) - 1n, limit: 10 }, {});
      expect(page.items.map((s) => s.id)).toEqual(ids);
      expect(page.lastId).toBeNull();
    });
  },
);
