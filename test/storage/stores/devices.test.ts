import assert from "node:assert/strict";
import { it } from "node:test";
import { StorageError } from "../../../src/storage/errors.ts";
import { DeviceExistsError, DeviceStore } from "../../../src/storage/stores/devices.ts";
import { UserStore } from "../../../src/storage/stores/users.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("DeviceStore", (getDb) => {
  const clock = () => 1_700_000_000_000;
  const stores = () => ({ users: new UserStore(getDb(), clock), devices: new DeviceStore(getDb(), clock) });

  it("creates devices and lists them", async () => {
    const { users, devices } = stores();
    await users.createUser("@dana:example.org", null);
    const phone = await devices.createDevice("@dana:example.org", "PHONE", { displayName: "Dana's phone" });
    await devices.createDevice("@dana:example.org", "LAPTOP");
    assert.deepEqual(phone, {
      userId: "@dana:example.org",
      deviceId: "PHONE",
      displayName: "Dana's phone",
      lastSeenTs: null,
      lastSeenIp: null,
      lastSeenUserAgent: null,
      createdTs: 1_700_000_000_000,
    });
    assert.deepEqual(await devices.getDevice("@dana:example.org", "PHONE"), phone);
    assert.deepEqual(
      (await devices.getDevices("@dana:example.org")).map((d) => d.deviceId),
      ["LAPTOP", "PHONE"],
    );
  });

  it("refuses a duplicate device ID, but allows the same ID for another user", async () => {
    const { users, devices } = stores();
    await users.createUser("@ed:example.org", null);
    await users.createUser("@fay:example.org", null);
    await devices.createDevice("@ed:example.org", "DEV");
    await assert.rejects(devices.createDevice("@ed:example.org", "DEV"), DeviceExistsError);
    await devices.createDevice("@fay:example.org", "DEV");
  });

  it("refuses a device of an unknown user (foreign keys are on)", async () => {
    const { devices } = stores();
    await assert.rejects(devices.createDevice("@nobody:example.org", "DEV"), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.transaction, "create_device");
      return true;
    });
  });

  it("finds an access token by its hash, with its user's flags", async () => {
    const { users, devices } = stores();
    await users.createUser("@gus:example.org", null, { guest: true });
    await devices.createDevice("@gus:example.org", "GUSDEV");
    const id = await devices.createAccessToken("hash-gus", {
      userId: "@gus:example.org",
      deviceId: "GUSDEV",
      expiresTs: 1_700_000_300_000,
    });
    assert.deepEqual(await devices.getAccessToken("hash-gus"), {
      id,
      userId: "@gus:example.org",
      deviceId: "GUSDEV",
      createdTs: 1_700_000_000_000,
      expiresTs: 1_700_000_300_000,
      refreshTokenId: null,
      userDeactivated: false,
      userIsGuest: true,
    });
    assert.equal(await devices.getAccessToken("no-such-hash"), undefined);
  });

  it("reports a deactivated user on the token", async () => {
    const { users, devices } = stores();
    await users.createUser("@hal:example.org", null);
    await devices.createDevice("@hal:example.org", "HALDEV");
    await devices.createAccessToken("hash-hal", { userId: "@hal:example.org", deviceId: "HALDEV" });
    // Deactivation belongs to the accounts work; set the flag directly here.
    await getDb().write("test_deactivate", (trx) =>
      trx.updateTable("users").set({ deactivated: 1 }).where("user_id", "=", "@hal:example.org").execute(),
    );
    assert.equal((await devices.getAccessToken("hash-hal"))?.userDeactivated, true);
  });

  it("gives each access token its own increasing id", async () => {
    const { users, devices } = stores();
    await users.createUser("@ivy:example.org", null);
    await devices.createDevice("@ivy:example.org", "IVYDEV");
    const first = await devices.createAccessToken("hash-ivy-1", { userId: "@ivy:example.org", deviceId: "IVYDEV" });
    const second = await devices.createAccessToken("hash-ivy-2", { userId: "@ivy:example.org", deviceId: "IVYDEV" });
    assert.equal(typeof first, "number");
    assert.ok(second > first);
  });

  it("deletes a device with its tokens, leaving other devices' tokens", async () => {
    const { users, devices } = stores();
    await users.createUser("@jo:example.org", null);
    await devices.createDevice("@jo:example.org", "OLD");
    await devices.createDevice("@jo:example.org", "NEW");
    await devices.createAccessToken("hash-jo-old-1", { userId: "@jo:example.org", deviceId: "OLD" });
    await devices.createAccessToken("hash-jo-old-2", { userId: "@jo:example.org", deviceId: "OLD" });
    await devices.createAccessToken("hash-jo-new", { userId: "@jo:example.org", deviceId: "NEW" });

    assert.equal(await devices.deleteDevice("@jo:example.org", "OLD"), true);
    assert.equal(await devices.getAccessToken("hash-jo-old-1"), undefined);
    assert.equal(await devices.getAccessToken("hash-jo-old-2"), undefined);
    assert.equal(await devices.getDevice("@jo:example.org", "OLD"), undefined);
    assert.equal((await devices.getAccessToken("hash-jo-new"))?.deviceId, "NEW");
    assert.equal(await devices.deleteDevice("@jo:example.org", "OLD"), false);
  });
});
