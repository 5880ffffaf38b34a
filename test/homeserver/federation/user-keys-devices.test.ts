/**
 * The federation side of end-to-end encryption between two Weft servers over TLS
 * (server-server-api#end-to-end-encryption, #device-management): POST /user/keys/query and
 * /user/keys/claim, GET /user/devices/{userId}, and the m.device_list_update EDUs that keep the
 * other server's cached copy of a user's device list current.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import type { Requester } from "../../../src/http/endpoint.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { engines } from "../../storage/engines.ts";
import { crossSigningKeyObject, crossSigningKeyPair, deviceSigningKey, oneTimeKeys, signedDeviceKeys } from "../e2ee/helpers.ts";
import { twoServers, waitFor, type FederatedServer } from "./federated-server.ts";

function requester(userId: string, deviceId: string): Requester {
  return { userId, deviceId, isGuest: false, accessTokenId: undefined };
}

/** A new device of the user on the server, with keys uploaded. */
async function deviceWithKeys(server: FederatedServer, userId: string, displayName?: string): Promise<{ deviceId: string; keys: JsonObject }> {
  const { deviceId } = await server.services.accounts.devices.createSession(userId, { initialDisplayName: displayName });
  const key = deviceSigningKey(deviceId);
  const keys = signedDeviceKeys(userId, deviceId, key);
  await server.services.e2ee.keys.upload(requester(userId, deviceId), { device_keys: keys, one_time_keys: oneTimeKeys(userId, key, 1) });
  return { deviceId, keys };
}

async function rejection(promise: Promise<unknown>): Promise<{ status: number | undefined; errcode: unknown }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FederationRequestError, String(error));
    return { status: error.status, errcode: error.errcode };
  }
  assert.fail("the request succeeded");
}

for (const engine of engines) {
  describe(`e2ee between two servers [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    before(() => ({ a, b } = servers));

    it("answers /user/keys/query and /user/keys/claim for its own users, without device names", async () => {
      const alice = await a.register("keysalice");
      const device = await deviceWithKeys(a, alice, "Alice's phone");
      const master = crossSigningKeyPair();
      const selfSigning = crossSigningKeyPair();
      const userSigning = crossSigningKeyPair();
      await a.services.e2ee.crossSigning.uploadKeys(requester(alice, device.deviceId), {
        master_key: crossSigningKeyObject(alice, "master", master),
        self_signing_key: crossSigningKeyObject(alice, "self_signing", selfSigning, master),
        user_signing_key: crossSigningKeyObject(alice, "user_signing", userSigning, master),
      });

      const client = b.services.federation.client;
      const answer = await client.post(a.serverName, "/_matrix/federation/v1/user/keys/query", {
        device_keys: { [alice]: [], [`@someone:${b.serverName}`]: [] },
      });
      const devices = answer["device_keys"] as Record<string, Record<string, JsonObject>>;
      assert.deepEqual(Object.keys(devices), [alice], "only the server's own users");
      // Names stay on the user's server (allow_device_name_lookup_over_federation defaults to false).
      assert.deepEqual(devices[alice]?.[device.deviceId], { ...device.keys, unsigned: {} });
      assert.deepEqual((answer["master_keys"] as JsonObject)[alice], crossSigningKeyObject(alice, "master", master));
      assert.ok((answer["self_signing_keys"] as JsonObject)[alice] !== undefined);
      assert.equal(answer["user_signing_keys"], undefined, "the user-signing key is its owner's alone");

      const claim = { one_time_keys: { [alice]: { [device.deviceId]: "signed_curve25519" } } };
      const claimed = await client.post(a.serverName, "/_matrix/federation/v1/user/keys/claim", claim);
      const key = (claimed["one_time_keys"] as Record<string, Record<string, JsonObject>>)[alice]?.[device.deviceId];
      assert.equal(Object.keys(key ?? {}).length, 1);
      assert.ok(Object.keys(key ?? {})[0]?.startsWith("signed_curve25519:"));
      const again = await client.post(a.serverName, "/_matrix/federation/v1/user/keys/claim", claim);
      assert.deepEqual(again, { one_time_keys: {} }, "a one-time key is handed out once");

      assert.deepEqual(await rejection(client.post(a.serverName, "/_matrix/federation/v1/user/keys/query", { device_keys: { [alice]: "all" } })), {
        status: 400,
        errcode: "M_BAD_JSON",
      });
      assert.deepEqual(await rejection(client.post(a.serverName, "/_matrix/federation/v1/user/keys/claim", {})), { status: 400, errcode: "M_MISSING_PARAM" });
    });

    it("answers GET /user/devices for its own users, with a stream_id that moves with each change", async () => {
      const carol = await a.register("devcarol");
      const client = b.services.federation.client;
      const path = `/_matrix/federation/v1/user/devices/${encodeURIComponent(carol)}`;
      const first = await deviceWithKeys(a, carol, "Carol's laptop");
      const before = await client.get(a.serverName, path);
      assert.equal(before["user_id"], carol);
      assert.deepEqual(before["devices"], [{ device_id: first.deviceId, keys: first.keys }]);
      assert.equal(typeof before["stream_id"], "number");

      const second = await deviceWithKeys(a, carol);
      const after = await client.get(a.serverName, path);
      assert.ok((after["stream_id"] as number) > (before["stream_id"] as number));
      assert.deepEqual(
        (after["devices"] as JsonObject[]).map((d) => d["device_id"]).sort(),
        [first.deviceId, second.deviceId].sort(),
      );

      const master = crossSigningKeyPair();
      const selfSigning = crossSigningKeyPair();
      await a.services.e2ee.crossSigning.uploadKeys(requester(carol, first.deviceId), {
        master_key: crossSigningKeyObject(carol, "master", master),
        self_signing_key: crossSigningKeyObject(carol, "self_signing", selfSigning, master),
      });
      const withKeys = await client.get(a.serverName, path);
      assert.deepEqual(withKeys["master_key"], crossSigningKeyObject(carol, "master", master));
      assert.deepEqual(withKeys["self_signing_key"], crossSigningKeyObject(carol, "self_signing", selfSigning, master));

      // user_devices.yaml: "Must be a user local to the receiving homeserver."
      const elsewhere = `/_matrix/federation/v1/user/devices/${encodeURIComponent(`@x:${b.serverName}`)}`;
      assert.deepEqual(await rejection(client.get(a.serverName, elsewhere)), { status: 400, errcode: "M_INVALID_PARAM" });
      assert.deepEqual(await rejection(client.get(a.serverName, "/_matrix/federation/v1/user/devices/not-a-user")), { status: 400, errcode: "M_INVALID_PARAM" });
    });

    it("keeps the other server's cached list current with m.device_list_update, and tells its users", async () => {
      const dave = await a.register("listdave");
      const erin = await b.register("listerin");
      const roomId = await a.createRoom(dave, { preset: "public" });
      await b.services.federationRooms.remote.join(erin, roomId, [a.serverName], {});
      await waitFor("erin's join to reach dave's server", async () => (await a.membership(roomId, erin)) === "join");
      await waitFor("dave's server to see erin share a room", async () => (await a.services.rooms.membershipIndex.usersSharingRoomWith(dave)).has(erin));
      const first = await deviceWithKeys(a, dave);

      // Erin asks for dave's keys: b caches dave's list (GET /user/devices) and answers from it.
      const keys = b.services.e2ee.keys;
      const asked = await keys.query(requester(erin, "ERIN"), { [dave]: [] }, 10_000);
      assert.deepEqual(Object.keys((asked["device_keys"] as Record<string, JsonObject>)[dave] ?? {}), [first.deviceId]);
      const cachedStream = async () => (await b.services.e2ee.remoteDeviceLists.query(new Map([[dave, []]]))).device_keys[dave] ?? {};
      assert.deepEqual(Object.keys(await cachedStream()), [first.deviceId]);

      // Dave's new device reaches b as an EDU; erin's device-list stream names dave.
      const position = b.services.e2ee.deviceLists.position();
      const second = await deviceWithKeys(a, dave);
      await waitFor("b's cache to hold dave's new device", async () => (await cachedStream())[second.deviceId] !== undefined);
      await waitFor("erin to be told dave's devices changed", async () => {
        const changes = await b.services.e2ee.deviceLists.changesSince(erin, position);
        return changes.changed.includes(dave);
      });
      const answered = await keys.query(requester(erin, "ERIN"), { [dave]: [] }, 10_000);
      assert.deepEqual(Object.keys((answered["device_keys"] as Record<string, JsonObject>)[dave] ?? {}).sort(), [first.deviceId, second.deviceId].sort());

      // A deleted device goes from the cache too.
      await a.services.accounts.devices.deleteDevicesExcept(dave, second.deviceId);
      await waitFor("b's cache to drop dave's deleted device", async () => (await cachedStream())[first.deviceId] === undefined);
      assert.deepEqual(Object.keys(await cachedStream()), [second.deviceId]);
    });
  });
}
