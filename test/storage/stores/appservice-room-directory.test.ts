import assert from "node:assert/strict";
import { it } from "node:test";
import { AppserviceRoomDirectoryStore } from "../../../src/storage/stores/appservice-room-directory.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("AppserviceRoomDirectoryStore", (getDb) => {
  it("lists a network's rooms in the order published, apart from other networks and services", async () => {
    const store = new AppserviceRoomDirectoryStore(getDb());
    await store.setPublished("irc", "libera", "!b:hs", true, 2);
    await store.setPublished("irc", "libera", "!a:hs", true, 3);
    await store.setPublished("irc", "oftc", "!c:hs", true, 1);
    await store.setPublished("slack", "libera", "!d:hs", true, 1);
    // Publishing again keeps the first time.
    await store.setPublished("irc", "libera", "!b:hs", true, 9);
    assert.deepEqual(await store.published("irc", "libera"), ["!b:hs", "!a:hs"]);
    assert.deepEqual(await store.published("irc", "oftc"), ["!c:hs"]);
    assert.deepEqual(await store.published("slack", "libera"), ["!d:hs"]);
    assert.deepEqual(await store.published("irc", "nowhere"), []);
  });

  it("unpublishes from one network only, and lists every network's rooms of the services asked for once", async () => {
    const store = new AppserviceRoomDirectoryStore(getDb());
    await store.setPublished("x", "n1", "!shared:hs", true, 1);
    await store.setPublished("x", "n2", "!shared:hs", true, 1);
    await store.setPublished("y", "n1", "!other:hs", true, 1);
    const all = await store.publishedOnAnyNetwork(["x", "y"]);
    assert.equal(all.filter((r) => r === "!shared:hs").length, 1);
    assert.ok(all.includes("!other:hs"));
    // Only the services asked for: those registered now.
    assert.ok(!(await store.publishedOnAnyNetwork(["x"])).includes("!other:hs"));
    assert.deepEqual(await store.publishedOnAnyNetwork([]), []);
    await store.setPublished("x", "n1", "!shared:hs", false, 2);
    await store.setPublished("x", "n1", "!never:hs", false, 2);
    assert.deepEqual(await store.published("x", "n1"), []);
    assert.deepEqual(await store.published("x", "n2"), ["!shared:hs"]);
    await store.setPublished("x", "n2", "!shared:hs", false, 3);
    assert.ok(!(await store.publishedOnAnyNetwork(["x", "y"])).includes("!shared:hs"));
  });
});
