// The user and device store operations the accounts work added: case-insensitive lookup, password
// changes, deactivation, and deleting and updating devices.
import assert from "node:assert/strict";
import { it } from "node:test";
import { DeviceStore } from "../../../src/storage/stores/devices.ts";
import { SessionStore } from "../../../src/storage/stores/sessions.ts";
import { UserStore } from "../../../src/storage/stores/users.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("UserStore and DeviceStore for accounts", (getDb) => {
  const stores = () => ({ users: new UserStore(getDb()), devices: new DeviceStore(getDb()), sessions: new SessionStore(getDb()) });

  it("finds user IDs whatever their case, the exact one first", async () => {
    const { users } = stores();
    await users.createUser("@Mixed:hs", null);
    await users.createUser("@mixed:hs", null);
    await users.createUser("@Solo:hs", null);
    assert.deepEqual(await users.findUserIdsCaseInsensitive("@mixed:hs"), ["@mixed:hs", "@Mixed:hs"]);
    assert.deepEqual((await users.findUserIdsCaseInsensitive("@MIXED:hs")).sort(), ["@Mixed:hs", "@mixed:hs"]);
    assert.deepEqual(await users.findUserIdsCaseInsensitive("@solo:hs"), ["@Solo:hs"]);
    assert.deepEqual(await users.findUserIdsCaseInsensitive("@none:hs"), []);
  });

  it("changes password hashes, and deactivates (and erases) users for good", async () => {
    const { users } = stores();
    await users.createUser("@vic:hs", "old-hash");
    assert.equal(await users.setPasswordHash("@vic:hs", "new-hash"), true);
    assert.equal((await users.getUser("@vic:hs"))?.passwordHash, "new-hash");
    assert.equal(await users.setPasswordHash("@nobody:hs", "x"), false);
    await users.deactivate("@vic:hs", { erase: true });
    const vic = await users.getUser("@vic:hs");
    assert.equal(vic?.deactivated, true);
    assert.equal(vic?.passwordHash, null);
    assert.equal(await users.isErased("@vic:hs"), true);
    assert.equal(await users.isUserIdTaken("@vic:hs"), true);
    await users.deactivate("@vic:hs", { erase: true }); // again: no error
    await users.createUser("@wes:hs", "h");
    await users.deactivate("@wes:hs", { erase: false });
    assert.equal(await users.isErased("@wes:hs"), false);
  });

  it("deletes devices in bulk or all but one, with every token, and renames and records sightings", async () => {
    const { users, devices, sessions } = stores();
    await users.createUser("@xia:hs", null);
    for (const id of ["A", "B", "C"]) {
      await sessions.issueSession({ userId: "@xia:hs", deviceId: id, displayName: null, accessTokenHash: `x-${id}`, accessExpiresTs: null, refreshTokenHash: `xr-${id}` });
    }
    const deviceless = await devices.createAccessToken("x-none", { userId: "@xia:hs", deviceId: null });
    assert.equal(await devices.setDeviceDisplayName("@xia:hs", "A", "Renamed"), true);
    assert.equal(await devices.setDeviceDisplayName("@xia:hs", "Z", "x"), false);
    await devices.recordLastSeen([
      { userId: "@xia:hs", deviceId: "A", ip: "192.0.2.1", userAgent: "curl/8.5", ts: 42 },
      { userId: "@xia:hs", deviceId: "Z", ip: "x", userAgent: null, ts: 1 },
    ]);
    assert.deepEqual(await devices.getDevice("@xia:hs", "A").then((d) => [d?.displayName, d?.lastSeenIp, d?.lastSeenUserAgent, d?.lastSeenTs]), ["Renamed", "192.0.2.1", "curl/8.5", 42]);

    assert.deepEqual(await devices.deleteDevices("@xia:hs", ["B", "Z"]), ["B"]);
    assert.equal(await devices.getAccessToken("x-B"), undefined);
    assert.deepEqual((await devices.deleteDevicesExcept("@xia:hs", "A")).sort(), ["C"]);
    assert.equal(await devices.getAccessToken("x-none"), undefined, "device-less tokens go too");
    assert.ok((await devices.getAccessToken("x-A")) !== undefined);
    assert.deepEqual(await devices.deleteDevicesExcept("@xia:hs", undefined), ["A"]);
    assert.deepEqual(await devices.getDevices("@xia:hs"), []);
    assert.equal(await devices.deleteAccessToken(deviceless), false);
  });
});
