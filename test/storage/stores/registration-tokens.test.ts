import assert from "node:assert/strict";
import { it } from "node:test";
import { isRegistrationTokenValid, RegistrationTokenExistsError, RegistrationTokenStore } from "../../../src/storage/stores/registration-tokens.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("RegistrationTokenStore", (getDb) => {
  it("creates, lists, updates and deletes tokens", async () => {
    const store = new RegistrationTokenStore(getDb());
    const created = await store.create("tok-a", { usesAllowed: 2, expiryTime: null });
    assert.deepEqual(created, { token: "tok-a", usesAllowed: 2, pending: 0, completed: 0, expiryTime: null });
    await assert.rejects(store.create("tok-a", { usesAllowed: null, expiryTime: null }), RegistrationTokenExistsError);
    assert.ok((await store.list()).some((t) => t.token === "tok-a"));
    assert.equal((await store.update("tok-a", { expiryTime: 99 }))?.expiryTime, 99);
    assert.equal((await store.update("tok-a", {}))?.usesAllowed, 2);
    assert.equal(await store.update("nope", { usesAllowed: 1 }), undefined);
    assert.equal(await store.delete("tok-a"), true);
    assert.equal(await store.delete("tok-a"), false);
  });

  it("reserves uses while they last, then completes or releases them", async () => {
    const store = new RegistrationTokenStore(getDb());
    await store.create("tok-b", { usesAllowed: 2, expiryTime: null });
    assert.equal(await store.reserve("tok-b", 0), true);
    assert.equal(await store.reserve("tok-b", 0), true);
    assert.equal(await store.reserve("tok-b", 0), false, "two pending uses fill a two-use token");
    await store.release("tok-b");
    await store.complete("tok-b");
    assert.deepEqual(await store.get("tok-b"), { token: "tok-b", usesAllowed: 2, pending: 0, completed: 1, expiryTime: null });
    assert.equal(await store.reserve("tok-b", 0), true);
    await store.clearPending();
    assert.equal((await store.get("tok-b"))?.pending, 0);
    assert.equal(await store.reserve("nope", 0), false);
    await store.create("tok-old", { usesAllowed: null, expiryTime: 10 });
    assert.equal(await store.reserve("tok-old", 10), false, "expired");
  });

  it("never overspends a token when sessions race for its last use", async () => {
    const store = new RegistrationTokenStore(getDb());
    await store.create("tok-race", { usesAllowed: 3, expiryTime: null });
    const results = await Promise.all(Array.from({ length: 8 }, () => store.reserve("tok-race", 0)));
    assert.equal(results.filter(Boolean).length, 3);
    assert.equal((await store.get("tok-race"))?.pending, 3);
  });

  it("judges validity by expiry and by pending plus completed uses", () => {
    const t = { token: "t", usesAllowed: 2, pending: 1, completed: 1, expiryTime: null };
    assert.equal(isRegistrationTokenValid(t, 0), false);
    assert.equal(isRegistrationTokenValid({ ...t, usesAllowed: null }, 0), true);
    assert.equal(isRegistrationTokenValid({ ...t, usesAllowed: 3, expiryTime: 5 }, 5), false);
    assert.equal(isRegistrationTokenValid({ ...t, usesAllowed: 3, expiryTime: 5 }, 4), true);
  });
});
