/**
 * Our users' device changes as other servers hear of them (server-server-api#device-management):
 * one m.device_list_update per changed device, in a sequence per user (stream_id one more each
 * time, prev_id the one before), to each other server sharing a room with the user; deletions
 * marked `deleted`; names kept back unless allowed; m.signing_key_update when the master or
 * self-signing key changes, not for the user-signing key.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { DeviceListUpdates, type OutboundEdu } from "../../../src/homeserver/e2ee/device-list-updates.ts";
import { DeviceListFederationStore } from "../../../src/storage/stores/device-list-federation.ts";
import { engines } from "../../storage/engines.ts";
import { call, registerUser } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML, crossSigningKeyObject, crossSigningKeyPair, uploadDeviceKeys } from "./helpers.ts";

for (const engine of engines) {
  describe(`device list updates for other servers [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(async () => {
      await hs.stop();
    });

    function updates(names: boolean, sent: Array<[string, OutboundEdu]>, sharing: (userId: string) => string[]): DeviceListUpdates {
      const services = hs.server.services;
      return new DeviceListUpdates({
        serverName: "test.local",
        store: new DeviceListFederationStore(services.db),
        deviceKeys: services.e2ee.deviceKeys,
        crossSigning: services.e2ee.crossSigning,
        devices: services.accounts.devices,
        usersSharingRoomWith: async (userId) => new Set([userId, ...sharing(userId)]),
        send: (destination, edu) => void sent.push([destination, edu]),
        allowDeviceNamesOverFederation: names,
      });
    }

    it("sends one update per device in a sequence per user, to each server sharing a room", async () => {
      const user = await registerUser(hs, "dlu1");
      const device = await uploadDeviceKeys(hs, user);
      await call(hs, "PUT", `/_matrix/client/v3/devices/${user.deviceId}`, { token: user.accessToken, body: { display_name: "Phone" } });
      const sent: Array<[string, OutboundEdu]> = [];
      const out = updates(false, sent, () => ["@x:one.test", "@y:two.test", "@z:one.test", "@w:test.local"]);
      const start = await new DeviceListFederationStore(hs.server.services.db).outboundStreamId(user.userId);

      await out.devicesChanged(user.userId, [user.deviceId]);
      await out.devicesChanged(user.userId, [user.deviceId, "GONE"]);
      const content = (i: number) => sent[i]?.[1].content as JsonObject;
      assert.deepEqual(
        sent.map(([d, e]) => [d, e.edu_type]),
        [
          ["one.test", "m.device_list_update"],
          ["two.test", "m.device_list_update"],
          ["one.test", "m.device_list_update"],
          ["two.test", "m.device_list_update"],
          ["one.test", "m.device_list_update"],
          ["two.test", "m.device_list_update"],
        ],
      );
      // The device's keys as uploaded, no name (allow_device_name_lookup_over_federation is off).
      assert.deepEqual(content(0), { user_id: user.userId, device_id: user.deviceId, stream_id: start + 1, prev_id: start > 0 ? [start] : [], keys: device.deviceKeys });
      assert.deepEqual(content(2), { user_id: user.userId, device_id: user.deviceId, stream_id: start + 2, prev_id: [start + 1], keys: device.deviceKeys });
      assert.deepEqual(content(4), { user_id: user.userId, device_id: "GONE", stream_id: start + 3, prev_id: [start + 2], deleted: true });

      // GET /user/devices gives the stream_id the last update had.
      const snapshot = await out.userDevices(user.userId);
      assert.equal(snapshot["stream_id"], start + 3);
      assert.deepEqual(snapshot["devices"], [{ device_id: user.deviceId, keys: device.deviceKeys }]);

      // With names allowed, they go out too.
      const named: Array<[string, OutboundEdu]> = [];
      await updates(true, named, () => ["@x:one.test"]).devicesChanged(user.userId, [user.deviceId]);
      assert.equal(named[0]?.[1].content["device_display_name"], "Phone");
      assert.equal(named[0]?.[1].content["stream_id"], start + 4);
    });

    it("sends nothing when no other server shares a room, but still moves the sequence", async () => {
      const user = await registerUser(hs, "dlu2");
      await uploadDeviceKeys(hs, user);
      const sent: Array<[string, OutboundEdu]> = [];
      const out = updates(false, sent, () => []);
      const before = await new DeviceListFederationStore(hs.server.services.db).outboundStreamId(user.userId);
      await out.devicesChanged(user.userId, [user.deviceId]);
      assert.deepEqual(sent, []);
      assert.equal((await out.userDevices(user.userId))["stream_id"], before + 1);
    });

    it("sends m.signing_key_update with the master and self-signing keys", async () => {
      const user = await registerUser(hs, "dlu3");
      const master = crossSigningKeyPair();
      const selfSigning = crossSigningKeyPair();
      const sent: Array<[string, OutboundEdu]> = [];
      const out = updates(false, sent, () => ["@x:one.test"]);
      const requester = { userId: user.userId, deviceId: user.deviceId, isGuest: false, accessTokenId: undefined };
      await hs.server.services.e2ee.crossSigning.uploadKeys(requester, {
        master_key: crossSigningKeyObject(user.userId, "master", master),
        self_signing_key: crossSigningKeyObject(user.userId, "self_signing", selfSigning, master),
      });
      await out.signingKeysChanged(user.userId);
      assert.deepEqual(sent, [
        [
          "one.test",
          {
            edu_type: "m.signing_key_update",
            content: {
              user_id: user.userId,
              master_key: crossSigningKeyObject(user.userId, "master", master),
              self_signing_key: crossSigningKeyObject(user.userId, "self_signing", selfSigning, master),
            },
          },
        ],
      ]);
      // Another server's user is not ours to announce.
      await out.signingKeysChanged("@x:one.test");
      await out.devicesChanged("@x:one.test", ["D"]);
      assert.equal(sent.length, 1);
    });
  });
}
