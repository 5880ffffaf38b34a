/**
 * keys/upload, keys/query and keys/claim (modules/end_to_end_encryption.md#key-management-api) over
 * real HTTP, on both engines: signatures checked, keys immutable, one-time keys handed out once
 * even to racing claims, fallback keys, and clean-up when a device is deleted.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { engines } from "../../storage/engines.ts";
import { assertError, call, login, registerGuest, registerUser, withPasswordUia, type TestUser } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML, deviceSigningKey, oneTimeKeys, signedCurveKey, signedDeviceKeys, uploadDeviceKeys } from "./helpers.ts";

const UPLOAD = "/_matrix/client/v3/keys/upload";
const QUERY = "/_matrix/client/v3/keys/query";
const CLAIM = "/_matrix/client/v3/keys/claim";

for (const engine of engines) {
  describe(`keys upload, query and claim [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    const upload = (user: TestUser, body: JsonObject) => call(hs, "POST", UPLOAD, { token: user.accessToken, body });

    it("stores device keys signed by the device, replaces them with new ones, and refuses wrong signatures and other devices' keys", async () => {
      const alice = await registerUser(hs, "ukalice", { device_id: "ALICEPHONE" });
      const key = deviceSigningKey("ALICEPHONE");
      const good = signedDeviceKeys(alice.userId, "ALICEPHONE", key);

      const tampered = { ...good, algorithms: ["m.megolm.v1.aes-sha2"] };
      assertError(await upload(alice, { device_keys: tampered }), 400, "M_INVALID_SIGNATURE");
      const otherKey = signedDeviceKeys(alice.userId, "ALICEPHONE", deviceSigningKey("ALICEPHONE"));
      const signedByOther = { ...good, signatures: otherKey["signatures"] ?? {} };
      assertError(await upload(alice, { device_keys: signedByOther }), 400, "M_INVALID_SIGNATURE");
      assertError(await upload(alice, { device_keys: signedDeviceKeys(alice.userId, "OTHERDEV", deviceSigningKey("OTHERDEV")) }), 400, "M_INVALID_PARAM");
      assertError(await upload(alice, { device_keys: signedDeviceKeys("@someone:test.local", "ALICEPHONE", key) }), 400, "M_INVALID_PARAM");
      const { keys: _keys, ...noKeys } = good;
      assertError(await upload(alice, { device_keys: noKeys }), 400, "M_BAD_JSON");
      const { keys: goodKeys } = good as { keys: Record<string, string> };
      const withoutEd25519 = signedDeviceKeys(alice.userId, "ALICEPHONE", key, { keys: { "curve25519:ALICEPHONE": goodKeys["curve25519:ALICEPHONE"] ?? "" } });
      assertError(await upload(alice, { device_keys: withoutEd25519 }), 400, "M_INVALID_PARAM");
      assertError(await upload(alice, { device_keys: "nope" }), 400, "M_BAD_JSON");

      const first = await upload(alice, { device_keys: good });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual(first.body, { one_time_key_counts: { signed_curve25519: 0 } });
      assert.equal((await upload(alice, { device_keys: good })).status, 200, "the same keys again: a retried request");
      const queryOwn = async () => {
        const queried = await call(hs, "POST", QUERY, { token: alice.accessToken, body: { device_keys: { [alice.userId]: [] } } });
        assert.equal(queried.status, 200);
        return (queried.body["device_keys"] as Record<string, Record<string, JsonObject>>)[alice.userId]?.["ALICEPHONE"];
      };
      assert.deepEqual(await queryOwn(), { ...good, unsigned: {} });
      // New keys for the device replace the old (as Synapse and Dendrite take them; the spec does not forbid it).
      const renewed = signedDeviceKeys(alice.userId, "ALICEPHONE", deviceSigningKey("ALICEPHONE"));
      assert.equal((await upload(alice, { device_keys: renewed })).status, 200);
      assert.deepEqual(await queryOwn(), { ...renewed, unsigned: {} });
    });

    it("counts one-time keys, accepts an identical re-upload, refuses a key ID with other content", async () => {
      const bob = await registerUser(hs, "ukbob", { device_id: "BOBDEV" });
      const { key } = await uploadDeviceKeys(hs, bob);
      const batch = oneTimeKeys(bob.userId, key, 5);
      const first = await upload(bob, { one_time_keys: batch });
      assert.deepEqual(first.body, { one_time_key_counts: { signed_curve25519: 5 } });
      assert.deepEqual((await upload(bob, { one_time_keys: batch })).body, { one_time_key_counts: { signed_curve25519: 5 } });
      const clash = { "signed_curve25519:AAAA0": signedCurveKey(bob.userId, key), "signed_curve25519:NEW": signedCurveKey(bob.userId, key) };
      assertError(await upload(bob, { one_time_keys: clash }), 400, "M_INVALID_PARAM");
      assert.deepEqual((await upload(bob, {})).body, { one_time_key_counts: { signed_curve25519: 5 } }, "nothing of the refused upload was stored");
      const more = await upload(bob, { one_time_keys: { "curve25519:PLAIN": "c2hvcnQ", ...oneTimeKeys(bob.userId, key, 2, "BBBB") } });
      assert.deepEqual(more.body, { one_time_key_counts: { signed_curve25519: 7, curve25519: 1 } });
      assertError(await upload(bob, { one_time_keys: { nocolon: signedCurveKey(bob.userId, key) } }), 400, "M_INVALID_PARAM");
      assertError(await upload(bob, { one_time_keys: { "signed_curve25519:X": { key: "k" } } }), 400, "M_BAD_JSON");
    });

    it("hands out one-time keys in upload order, then the fallback key, which stays but is marked used", async () => {
      const carol = await registerUser(hs, "ukcarol", { device_id: "CAROLDEV" });
      const claimer = await registerUser(hs, "ukclaimer");
      const { key } = await uploadDeviceKeys(hs, carol);
      await upload(carol, { one_time_keys: oneTimeKeys(carol.userId, key, 1, "FIRST") });
      await upload(carol, { one_time_keys: oneTimeKeys(carol.userId, key, 1, "SECOND") });
      const fallback = signedCurveKey(carol.userId, key, true);
      await upload(carol, { fallback_keys: { "signed_curve25519:FB1": fallback } });
      const oneTimeKeysService = hs.server.services.e2ee.oneTimeKeys;
      assert.deepEqual(await oneTimeKeysService.unusedFallbackKeyTypes(carol.userId, "CAROLDEV"), ["signed_curve25519"]);

      const claim = async (): Promise<string[]> => {
        const reply = await call(hs, "POST", CLAIM, { token: claimer.accessToken, body: { one_time_keys: { [carol.userId]: { CAROLDEV: "signed_curve25519" } }, timeout: 1000 } });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.deepEqual(reply.body["failures"], {});
        const byDevice = (reply.body["one_time_keys"] as Record<string, Record<string, JsonObject>>)[carol.userId];
        return Object.keys(byDevice?.["CAROLDEV"] ?? {});
      };
      assert.deepEqual(await claim(), ["signed_curve25519:FIRST0"]);
      assert.deepEqual(await claim(), ["signed_curve25519:SECOND0"]);
      assert.deepEqual(await oneTimeKeysService.counts(carol.userId, "CAROLDEV"), { signed_curve25519: 0 });
      assert.deepEqual(await claim(), ["signed_curve25519:FB1"]);
      assert.deepEqual(await claim(), ["signed_curve25519:FB1"], "the fallback key is not consumed");
      assert.deepEqual(await oneTimeKeysService.unusedFallbackKeyTypes(carol.userId, "CAROLDEV"), []);

      // The same fallback key uploaded again stays used; a new one is unused.
      await upload(carol, { fallback_keys: { "signed_curve25519:FB1": fallback } });
      assert.deepEqual(await oneTimeKeysService.unusedFallbackKeyTypes(carol.userId, "CAROLDEV"), []);
      await upload(carol, { fallback_keys: { "signed_curve25519:FB2": signedCurveKey(carol.userId, key, true) } });
      assert.deepEqual(await oneTimeKeysService.unusedFallbackKeyTypes(carol.userId, "CAROLDEV"), ["signed_curve25519"]);
      assert.deepEqual(await claim(), ["signed_curve25519:FB2"]);

      const unknown = await call(hs, "POST", CLAIM, {
        token: claimer.accessToken,
        body: { one_time_keys: { [carol.userId]: { NODEVICE: "signed_curve25519" }, "@nobody:test.local": { X: "signed_curve25519" } } },
      });
      assert.deepEqual(unknown.body, { one_time_keys: {}, failures: {} });

      // Another server claiming for its users (federation's /user/keys/claim): this server's devices only.
      await upload(carol, { one_time_keys: oneTimeKeys(carol.userId, key, 1, "FED") });
      const forServer = await hs.server.services.e2ee.keys.claimForServer({ [carol.userId]: { CAROLDEV: "signed_curve25519" }, "@x:elsewhere.invalid": { D: "signed_curve25519" } });
      assert.deepEqual(Object.keys((forServer["one_time_keys"] as Record<string, Record<string, JsonObject>>)[carol.userId]?.["CAROLDEV"] ?? {}), ["signed_curve25519:FED0"]);
      assert.deepEqual(Object.keys(forServer["one_time_keys"] as JsonObject), [carol.userId]);
      assertError(await call(hs, "POST", CLAIM, { token: claimer.accessToken, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "POST", CLAIM, { token: claimer.accessToken, body: { one_time_keys: { [carol.userId]: { CAROLDEV: 5 } } } }), 400, "M_BAD_JSON");
    });

    it("gives each one-time key to exactly one of many concurrent claims", async () => {
      const dave = await registerUser(hs, "ukdave", { device_id: "DAVEDEV" });
      const { key } = await uploadDeviceKeys(hs, dave);
      await upload(dave, { one_time_keys: oneTimeKeys(dave.userId, key, 3) });
      const claimers = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => registerUser(hs, `ukracer${i}`)));
      const replies = await Promise.all(
        claimers.map((c) => call(hs, "POST", CLAIM, { token: c.accessToken, body: { one_time_keys: { [dave.userId]: { DAVEDEV: "signed_curve25519" } } } })),
      );
      const won = replies.flatMap((r) => {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return Object.keys((r.body["one_time_keys"] as Record<string, Record<string, JsonObject>>)[dave.userId]?.["DAVEDEV"] ?? {});
      });
      assert.deepEqual(won.sort(), ["signed_curve25519:AAAA0", "signed_curve25519:AAAA1", "signed_curve25519:AAAA2"]);

      // The last key, raced for by all of them: one winner.
      await upload(dave, { one_time_keys: oneTimeKeys(dave.userId, key, 1, "LAST") });
      const race = await Promise.all(
        claimers.map((c) => call(hs, "POST", CLAIM, { token: c.accessToken, body: { one_time_keys: { [dave.userId]: { DAVEDEV: "signed_curve25519" } } } })),
      );
      const winners = race.filter((r) => (r.body["one_time_keys"] as JsonObject)[dave.userId] !== undefined);
      assert.equal(winners.length, 1);
    });

    it("answers keys/query with display names, device filters, and empty maps for users without keys", async () => {
      const erin = await registerUser(hs, "ukerin", { device_id: "ERIN1", initial_device_display_name: "Erin's phone" });
      const second = (await login(hs, "ukerin", erin.password, { device_id: "ERIN2" })).body;
      const erin2: TestUser = { ...erin, accessToken: second["access_token"] as string, deviceId: "ERIN2" };
      const nokeys = await registerUser(hs, "uknokeys");
      await uploadDeviceKeys(hs, erin);
      await uploadDeviceKeys(hs, erin2);
      const query = async (deviceKeys: JsonObject) => {
        const reply = await call(hs, "POST", QUERY, { token: nokeys.accessToken, body: { device_keys: deviceKeys } });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        return reply.body;
      };
      const all = await query({ [erin.userId]: [], [nokeys.userId]: [], "@ghost:test.local": [] });
      const devices = all["device_keys"] as Record<string, Record<string, JsonObject>>;
      assert.deepEqual(Object.keys(devices[erin.userId] ?? {}).sort(), ["ERIN1", "ERIN2"]);
      assert.deepEqual(devices[erin.userId]?.["ERIN1"]?.["unsigned"], { device_display_name: "Erin's phone" });
      assert.deepEqual(devices[nokeys.userId], {});
      assert.deepEqual(devices["@ghost:test.local"], {});
      assert.deepEqual(all["failures"], {});
      const one = await query({ [erin.userId]: ["ERIN2", "NOPE"] });
      assert.deepEqual(Object.keys((one["device_keys"] as Record<string, JsonObject>)[erin.userId] ?? {}), ["ERIN2"]);

      // Another server's users: a server that cannot be reached is listed in failures.
      const remote = (await call(hs, "POST", QUERY, { token: nokeys.accessToken, body: { device_keys: { "@someone:elsewhere.invalid": [] }, timeout: 2000 } })).body;
      assert.deepEqual(Object.keys(remote["failures"] as JsonObject), ["elsewhere.invalid"]);
      assertError(await call(hs, "POST", QUERY, { token: nokeys.accessToken, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "POST", QUERY, { token: nokeys.accessToken, body: { device_keys: { [erin.userId]: "all" } } }), 400, "M_BAD_JSON");
      assertError(await call(hs, "POST", QUERY, { body: { device_keys: {} } }), 401, "M_MISSING_TOKEN");
    });

    it("deletes a device's keys with the device", async () => {
      const fred = await registerUser(hs, "ukfred", { device_id: "FREDMAIN" });
      const other = (await login(hs, "ukfred", fred.password, { device_id: "FREDOLD" })).body;
      const old: TestUser = { ...fred, accessToken: other["access_token"] as string, deviceId: "FREDOLD" };
      const { key } = await uploadDeviceKeys(hs, old, {});
      await upload(old, { one_time_keys: oneTimeKeys(fred.userId, key, 2), fallback_keys: { "signed_curve25519:F": signedCurveKey(fred.userId, key, true) } });
      const deleted = await withPasswordUia(hs, "DELETE", "/_matrix/client/v3/devices/FREDOLD", fred);
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      const queried = await call(hs, "POST", QUERY, { token: fred.accessToken, body: { device_keys: { [fred.userId]: [] } } });
      assert.deepEqual((queried.body["device_keys"] as JsonObject)[fred.userId], {});
      const e2ee = hs.server.services.e2ee;
      assert.deepEqual(await e2ee.oneTimeKeys.counts(fred.userId, "FREDOLD"), { signed_curve25519: 0 });
      assert.deepEqual(await e2ee.oneTimeKeys.unusedFallbackKeyTypes(fred.userId, "FREDOLD"), []);
    });

    it("needs a device to upload keys, and lets guests upload, query and claim", async () => {
      const guestHs = await startTestHomeserver(engine, { yaml: `${ACCOUNTS_YAML}\nallow_guest_access: true` });
      try {
        const { accessToken: token, deviceId, userId } = await registerGuest(guestHs);
        const key = deviceSigningKey(deviceId);
        const uploaded = await call(guestHs, "POST", UPLOAD, { token, body: { device_keys: signedDeviceKeys(userId, deviceId, key), one_time_keys: oneTimeKeys(userId, key, 1) } });
        assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
        assert.equal((await call(guestHs, "POST", QUERY, { token, body: { device_keys: { [userId]: [] } } })).status, 200);
        assert.equal((await call(guestHs, "POST", CLAIM, { token, body: { one_time_keys: { [userId]: { [deviceId]: "signed_curve25519" } } } })).status, 200);
        assertError(await call(guestHs, "GET", "/_matrix/client/v3/keys/changes?from=s1&to=s1", { token }), 403, "M_GUEST_ACCESS_FORBIDDEN");
      } finally {
        await guestHs.stop();
      }
    });
  });
}
