import assert from "node:assert/strict";
import { it } from "node:test";
import { AccountDataStore } from "../../../src/storage/stores/account-data.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("AccountDataStore", (getDb) => {
  it("gives every change a new, larger stream position, and lists changes since a position", async () => {
    const store = new AccountDataStore(getDb());
    const start = await store.maxStreamId();
    const p1 = await store.put("@a:hs", undefined, "x.one", { v: 1 });
    const p2 = await store.put("@a:hs", "!r:hs", "x.one", { v: 2 });
    const p3 = await store.put("@a:hs", undefined, "x.one", { v: 3 });
    assert.ok(start < p1 && p1 < p2 && p2 < p3);
    assert.deepEqual(await store.get("@a:hs", undefined, "x.one"), { v: 3 });
    assert.deepEqual(await store.get("@a:hs", "!r:hs", "x.one"), { v: 2 });
    const changes = await store.changesSince("@a:hs", start);
    assert.deepEqual(changes.map((c) => [c.roomId, c.content, c.streamId]), [["!r:hs", { v: 2 }, p2], [undefined, { v: 3 }, p3]]);
    assert.deepEqual(await store.changesSince("@a:hs", p3), []);
    assert.equal(await store.maxStreamId(), p3);
  });

  it("edits an entry in one transaction and keeps concurrent writes in position order", async () => {
    const store = new AccountDataStore(getDb());
    const start = await store.maxStreamId();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.update("@b:hs", "!r:hs", "m.tag", (c) => ({ tags: { ...((c?.["tags"] as object) ?? {}), [`t${i}`]: {} } }))),
    );
    const tags = (await store.get("@b:hs", "!r:hs", "m.tag"))?.["tags"] as Record<string, unknown>;
    assert.equal(Object.keys(tags).length, 10, "no edit lost");
    const changes = await store.changesSince("@b:hs", start);
    assert.equal(changes.length, 1, "one row per (room, type)");
    assert.equal(changes[0]?.streamId, await store.maxStreamId());
  });

  it("erases a user's account data", async () => {
    const store = new AccountDataStore(getDb());
    await store.put("@c:hs", undefined, "x.one", {});
    await store.put("@d:hs", undefined, "x.one", {});
    await store.eraseUser("@c:hs");
    assert.deepEqual(await store.changesSince("@c:hs", 0), []);
    assert.equal((await store.changesSince("@d:hs", 0)).length, 1);
  });
});
