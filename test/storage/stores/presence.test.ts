import assert from "node:assert/strict";
import { it } from "node:test";
import { PresenceStore, type StoredPresence } from "../../../src/storage/stores/presence.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("PresenceStore", (getDb) => {
  it("saves the latest record of each user and reads them all back", async () => {
    const store = new PresenceStore(getDb());
    const record = (userId: string, presence: StoredPresence["presence"], streamPosition: number, statusMsg: string | null = null): StoredPresence => ({
      userId,
      presence,
      statusMsg,
      lastActiveTs: 1_700_000_000_000 + streamPosition,
      lastSyncTs: 1_700_000_000_500,
      currentlyActive: presence === "online",
      streamPosition,
    });
    await store.save([record("@a:hs", "online", 1), record("@b:hs", "unavailable", 2, "lunch")]);
    await store.save([record("@a:hs", "offline", 3, "gone")]);
    await store.save([]);
    const all = new Map((await store.all()).map((r) => [r.userId, r]));
    assert.deepEqual(all.get("@a:hs"), record("@a:hs", "offline", 3, "gone"));
    assert.deepEqual(all.get("@b:hs"), record("@b:hs", "unavailable", 2, "lunch"));
  });
});
