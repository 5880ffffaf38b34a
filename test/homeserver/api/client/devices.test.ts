import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DeviceStore } from "../../../../src/storage/stores/devices.ts";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, login, passwordAuth, registerUser, withPasswordUia } from "./helpers.ts";

const DEVICES = "/_matrix/client/v3/devices";
const WHOAMI = "/_matrix/client/v3/account/whoami";

for (const engine of engines) {
  describe(`device management [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    it("lists, reads and renames devices, with when and where they were last seen", async () => {
      const alice = await registerUser(hs, "alice", { initial_device_display_name: "Phone", device_id: "PHONE" });
      await login(hs, "alice", alice.password, { device_id: "LAPTOP" });
      const list = await call(hs, "GET", DEVICES, { token: alice.accessToken });
      assert.equal(list.status, 200);
      const devices = list.body["devices"] as Record<string, unknown>[];
      assert.deepEqual(devices.map((d) => d["device_id"]).sort(), ["LAPTOP", "PHONE"]);
      const phone = devices.find((d) => d["device_id"] === "PHONE") as Record<string, unknown>;
      assert.equal(phone["display_name"], "Phone");
      assert.equal(phone["last_seen_ip"], "127.0.0.1", "the list request itself was a sighting");
      assert.equal(typeof phone["last_seen_ts"], "number");
      const laptop = devices.find((d) => d["device_id"] === "LAPTOP") as Record<string, unknown>;
      assert.equal("display_name" in laptop, false, "absent rather than null");

      assert.equal((await call(hs, "PUT", `${DEVICES}/LAPTOP`, { token: alice.accessToken, body: { display_name: "Work laptop" } })).status, 200);
      assert.equal((await call(hs, "GET", `${DEVICES}/LAPTOP`, { token: alice.accessToken })).body["display_name"], "Work laptop");
      assert.equal((await call(hs, "PUT", `${DEVICES}/LAPTOP`, { token: alice.accessToken, body: {} })).status, 200);
      assertError(await call(hs, "PUT", `${DEVICES}/NOPE`, { token: alice.accessToken, body: { display_name: "x" } }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "GET", `${DEVICES}/NOPE`, { token: alice.accessToken }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "PUT", `${DEVICES}/LAPTOP`, { token: alice.accessToken, body: { display_name: "x".repeat(101) } }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", `${DEVICES}/LAPTOP`, { token: alice.accessToken, body: { display_name: 7 } }), 400, "M_BAD_JSON");
      assertError(await call(hs, "GET", DEVICES), 401, "M_MISSING_TOKEN");
    });

    it("writes last-seen sightings in batches, not per request", async () => {
      const bob = await registerUser(hs, "bob", { device_id: "BOBDEV" });
      const store = new DeviceStore(hs.server.services.db);
      await hs.server.services.accounts.devices.flush();
      assert.equal((await store.getDevice(bob.userId, "BOBDEV"))?.lastSeenTs, null, "registration is not a sighting");
      await call(hs, "GET", WHOAMI, { token: bob.accessToken });
      await call(hs, "GET", WHOAMI, { token: bob.accessToken });
      assert.equal((await store.getDevice(bob.userId, "BOBDEV"))?.lastSeenTs, null, "not written yet");
      await hs.server.services.accounts.devices.flush();
      const stored = await store.getDevice(bob.userId, "BOBDEV");
      assert.equal(stored?.lastSeenIp, "127.0.0.1");
      assert.ok((stored?.lastSeenTs ?? 0) > 0);
    });

    it("deletes a device behind UIA; its access and refresh tokens are refused at once", async () => {
      const carol = await registerUser(hs, "carol");
      const doomed = (await login(hs, "carol", carol.password, { device_id: "DOOMED", refresh_token: true })).body;
      const doomedToken = doomed["access_token"] as string;
      // Authenticated once, so the token is in the cache when the device goes.
      assert.equal((await call(hs, "GET", WHOAMI, { token: doomedToken })).status, 200);

      const first = await call(hs, "DELETE", `${DEVICES}/DOOMED`, { token: carol.accessToken, body: {} });
      assert.equal(first.status, 401);
      assert.deepEqual(first.body["flows"], [{ stages: ["m.login.password"] }]);
      const session = first.body["session"] as string;
      // The session was opened to delete DOOMED: it cannot delete another device.
      const elsewhere = await call(hs, "DELETE", `${DEVICES}/${carol.deviceId}`, { token: carol.accessToken, body: { auth: passwordAuth(carol, session) } });
      assertError(elsewhere, 403, "M_FORBIDDEN");
      const done = await call(hs, "DELETE", `${DEVICES}/DOOMED`, { token: carol.accessToken, body: { auth: passwordAuth(carol, session) } });
      assert.equal(done.status, 200);

      assertError(await call(hs, "GET", WHOAMI, { token: doomedToken }), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "POST", "/_matrix/client/v3/refresh", { body: { refresh_token: doomed["refresh_token"] } }), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "GET", `${DEVICES}/DOOMED`, { token: carol.accessToken }), 404, "M_NOT_FOUND");
      // Deleting a device that is already gone is no error.
      assert.equal((await withPasswordUia(hs, "DELETE", `${DEVICES}/DOOMED`, carol)).status, 200);
    });

    it("deletes several devices at once behind UIA", async () => {
      const dave = await registerUser(hs, "dave");
      const a = (await login(hs, "dave", dave.password, { device_id: "DA" })).body["access_token"] as string;
      const b = (await login(hs, "dave", dave.password, { device_id: "DB" })).body["access_token"] as string;
      assert.equal((await call(hs, "GET", WHOAMI, { token: a })).status, 200);
      const done = await withPasswordUia(hs, "POST", "/_matrix/client/v3/delete_devices", dave, { devices: ["DA", "DB", "NEVER"] });
      assert.equal(done.status, 200);
      for (const token of [a, b]) assertError(await call(hs, "GET", WHOAMI, { token }), 401, "M_UNKNOWN_TOKEN");
      const left = await call(hs, "GET", DEVICES, { token: dave.accessToken });
      assert.deepEqual((left.body["devices"] as { device_id: string }[]).map((d) => d.device_id), [dave.deviceId]);
      assertError(await call(hs, "POST", "/_matrix/client/v3/delete_devices", { token: dave.accessToken, body: {} }), 400, "M_MISSING_PARAM");
    });

    it("tells the devices-deleted listeners", async () => {
      const erin = await registerUser(hs, "erin");
      await login(hs, "erin", erin.password, { device_id: "GONE" });
      const seen: unknown[] = [];
      hs.server.services.accounts.devices.onDevicesDeleted((userId, ids) => {
        seen.push([userId, [...ids]]);
      });
      assert.equal((await withPasswordUia(hs, "DELETE", `${DEVICES}/GONE`, erin)).status, 200);
      assert.deepEqual(seen, [[erin.userId, ["GONE"]]]);
    });
  });
}
