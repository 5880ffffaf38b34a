import assert from "node:assert/strict";
import { it } from "node:test";
import { PusherStore, type StoredPusher } from "../../../src/storage/stores/pushers.ts";
import { forEachEngine } from "../engines.ts";

const pusher = (userId: string, appId: string, pushkey: string, over: Partial<StoredPusher> = {}): StoredPusher => ({
  userId,
  kind: "http",
  appId,
  pushkey,
  appDisplayName: "App",
  deviceDisplayName: "Phone",
  profileTag: undefined,
  lang: "en",
  data: { url: "https://push.example.com/_matrix/push/v1/notify", custom: { nested: [1, "two"] } },
  deviceId: "DEV",
  pushkeyTs: 1_700_000_000_000,
  ...over,
});

forEachEngine("PusherStore", (getDb) => {
  it("creates, replaces and reads pushers by user", async () => {
    const store = new PusherStore(getDb());
    assert.deepEqual(await store.set(pusher("@a:hs", "app", "k1"), false), []);
    await store.set(pusher("@a:hs", "app", "k2", { profileTag: "tag", deviceId: undefined }), false);
    await store.set(pusher("@a:hs", "app", "k1", { lang: "fr", pushkeyTs: 1_800_000_000_000 }), false);
    const mine = await store.ofUser("@a:hs");
    assert.deepEqual(mine, [
      pusher("@a:hs", "app", "k1", { lang: "fr", pushkeyTs: 1_800_000_000_000 }),
      pusher("@a:hs", "app", "k2", { profileTag: "tag", deviceId: undefined }),
    ]);
    assert.deepEqual(await store.ofUser("@nobody:hs"), []);
  });

  it("removes other users' pushers with the same app_id and pushkey unless appending", async () => {
    const store = new PusherStore(getDb());
    await store.set(pusher("@b:hs", "shared", "key"), false);
    assert.deepEqual(await store.set(pusher("@c:hs", "shared", "key"), false), [], "appending keeps b's");
    await store.set(pusher("@d:hs", "shared", "other"), false);
    const removed = await store.set(pusher("@e:hs", "shared", "key"), true);
    assert.deepEqual(
      removed.sort((x, y) => x.userId.localeCompare(y.userId)),
      [
        { userId: "@b:hs", appId: "shared", pushkey: "key" },
        { userId: "@c:hs", appId: "shared", pushkey: "key" },
      ],
    );
    const all = (await store.all()).filter((p) => p.appId === "shared").map((p) => `${p.userId} ${p.pushkey}`);
    assert.deepEqual(all, ["@d:hs other", "@e:hs key"]);
  });

  it("deletes one pusher, those of some devices, and all of a user's", async () => {
    const store = new PusherStore(getDb());
    await store.set(pusher("@f:hs", "app", "1", { deviceId: "D1" }), false);
    await store.set(pusher("@f:hs", "app", "2", { deviceId: "D2" }), false);
    await store.set(pusher("@f:hs", "app", "3", { deviceId: undefined }), false);
    await store.set(pusher("@f:hs", "app", "4", { deviceId: "D1" }), false);
    assert.equal(await store.delete({ userId: "@f:hs", appId: "app", pushkey: "4" }), true);
    assert.equal(await store.delete({ userId: "@f:hs", appId: "app", pushkey: "4" }), false);
    assert.deepEqual(await store.deleteForDevices("@f:hs", ["D1", "D9"]), [{ userId: "@f:hs", appId: "app", pushkey: "1" }]);
    assert.deepEqual(await store.deleteForDevices("@f:hs", []), []);
    assert.deepEqual((await store.ofUser("@f:hs")).map((p) => p.pushkey), ["2", "3"]);
    assert.equal((await store.deleteForUser("@f:hs")).length, 2);
    assert.deepEqual(await store.ofUser("@f:hs"), []);
  });
});
