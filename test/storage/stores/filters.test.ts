import assert from "node:assert/strict";
import { it } from "node:test";
import { FilterStore } from "../../../src/storage/stores/filters.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("FilterStore", (getDb) => {
  it("stores filters by user and finds them by ID", async () => {
    const filters = new FilterStore(getDb());
    const a = await filters.create("@a:hs", { room: { timeline: { limit: 5 } } });
    const b = await filters.create("@a:hs", {});
    assert.notEqual(a, b);
    assert.deepEqual(await filters.get("@a:hs", a), { room: { timeline: { limit: 5 } } });
    assert.equal(await filters.get("@b:hs", a), undefined, "another user's filter is not found");
    assert.equal(await filters.get("@a:hs", 987_654), undefined);
  });
});
