/**
 * Other servers' users' device lists (server-server-api#device-management), received: the cache
 * filled from GET /user/devices, m.device_list_update applied when its prev_ids are known and a
 * resync on a gap, m.signing_key_update, and what a hostile server cannot slip in.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { RemoteDeviceLists, UPDATE_RESYNC_BURST, UPDATE_RESYNC_INTERVAL_MS } from "../../../src/homeserver/e2ee/remote-device-lists.ts";
import { EduDispatcher } from "../../../src/homeserver/federation/edus.ts";
import { deviceListEduHandlers } from "../../../src/homeserver/federation/remote-e2ee.ts";
import { DeviceListFederationStore } from "../../../src/storage/stores/device-list-federation.ts";
import type { Database } from "../../../src/storage/database.ts";
import { forEachEngine } from "../../storage/engines.ts";
import { crossSigningKeyObject, crossSigningKeyPair, deviceSigningKey, signedDeviceKeys } from "./helpers.ts";

const HERE = "here.test";
const THERE = "there.test";
const BOB = `@bob:${THERE}`;
const ALICE = `@alice:${HERE}`;

/** Bob's server as the cache sees it: its devices, served by GET /user/devices. */
class BobServer {
  streamId = 0;
  readonly devices = new Map<string, JsonObject>();
  master: JsonObject | undefined;
  selfSigning: JsonObject | undefined;
  fetches = 0;

  addDevice(deviceId: string): JsonObject {
    const keys = signedDeviceKeys(BOB, deviceId, deviceSigningKey(deviceId));
    this.devices.set(deviceId, keys);
    this.streamId += 1;
    return keys;
  }

  /** The m.device_list_update for the last change (prev_id: the change before it). */
  update(deviceId: string, extra: JsonObject = {}): JsonObject {
    const keys = this.devices.get(deviceId);
    return {
      user_id: BOB,
      device_id: deviceId,
      stream_id: this.streamId,
      prev_id: this.streamId > 1 ? [this.streamId - 1] : [],
      ...(keys === undefined ? { deleted: true } : { keys }),
      ...extra,
    };
  }

  userDevices(): JsonObject {
    this.fetches += 1;
    const body: JsonObject = {
      user_id: BOB,
      stream_id: this.streamId,
      devices: [...this.devices].map(([deviceId, keys]) => ({ device_id: deviceId, keys })),
    };
    if (this.master !== undefined) body["master_key"] = this.master;
    if (this.selfSigning !== undefined) body["self_signing_key"] = this.selfSigning;
    return body;
  }
}

interface Fixture {
  readonly cache: RemoteDeviceLists;
  readonly bob: BobServer;
  readonly changed: string[];
  sharing: boolean;
  /** The cache's clock, in ms. */
  time: number;
}

/** A fresh fixture: the suite's tests share a database, so bob's cached list is dropped first. */
async function fixture(db: Database): Promise<Fixture> {
  await new DeviceListFederationStore(db).forgetRemote([BOB]);
  const bob = new BobServer();
  const changed: string[] = [];
  const f: Fixture = {
    bob,
    changed,
    sharing: true,
    time: 1_800_000_000_000,
    cache: new RemoteDeviceLists({
      now: () => f.time,
      serverName: HERE,
      store: new DeviceListFederationStore(db),
      fetchUserDevices: async (userId) => {
        assert.equal(userId, BOB);
        return bob.userDevices();
      },
      usersSharingRoomWith: async (userId) => new Set(f.sharing ? [userId, ALICE] : [userId]),
      keysChanged: async (userId) => void changed.push(userId),
    }),
  };
  return f;
}

async function cachedDevices(f: Fixture): Promise<string[]> {
  const answer = await f.cache.query(new Map([[BOB, []]]));
  if (answer.unanswered.has(BOB)) return ["(not cached)"];
  return Object.keys(answer.device_keys[BOB] ?? {}).sort();
}

forEachEngine("remote device lists", (getDb) => {
  it("caches a list on first sight, applies updates whose prev_id is known, and resyncs after a gap", async () => {
    const f = await fixture(getDb());
    f.bob.addDevice("B1");
    // Not cached yet: the update makes us fetch the whole list.
    await f.cache.receiveDeviceListUpdate(THERE, f.bob.update("B1"));
    assert.equal(f.bob.fetches, 1);
    assert.deepEqual(await cachedDevices(f), ["B1"]);
    assert.deepEqual(f.changed, [BOB]);

    // The next update names the one before: applied without asking.
    f.bob.addDevice("B2");
    await f.cache.receiveDeviceListUpdate(THERE, f.bob.update("B2"));
    assert.equal(f.bob.fetches, 1);
    assert.deepEqual(await cachedDevices(f), ["B1", "B2"]);

    // An update lost on the way (B3): B4's prev_id is unknown, so the list is fetched again.
    f.bob.addDevice("B3");
    f.bob.addDevice("B4");
    await f.cache.receiveDeviceListUpdate(THERE, f.bob.update("B4"));
    assert.equal(f.bob.fetches, 2);
    assert.deepEqual(await cachedDevices(f), ["B1", "B2", "B3", "B4"]);

    // An update older than the cache (the lost one, late) changes nothing.
    await f.cache.receiveDeviceListUpdate(THERE, { user_id: BOB, device_id: "B3", stream_id: 3, prev_id: [2], deleted: true });
    assert.deepEqual(await cachedDevices(f), ["B1", "B2", "B3", "B4"]);

    // A deletion in sequence.
    f.bob.devices.delete("B1");
    f.bob.streamId += 1;
    await f.cache.receiveDeviceListUpdate(THERE, f.bob.update("B1"));
    assert.equal(f.bob.fetches, 2);
    assert.deepEqual(await cachedDevices(f), ["B2", "B3", "B4"]);
    assert.deepEqual(f.changed, [BOB, BOB, BOB, BOB]);
  });

  it("fetches a list a few times at most for updates it cannot place, then drops it until time passes", async () => {
    const f = await fixture(getDb());
    f.bob.addDevice("B1");
    // A server making up prev_ids, each update above the last: every one is a gap.
    const unplaceable = (n: number): JsonObject => ({ user_id: BOB, device_id: "B1", stream_id: 1000 + n, prev_id: [900_000 + n], keys: f.bob.devices.get("B1") ?? null });
    for (let n = 0; n < 10; n++) await f.cache.receiveDeviceListUpdate(THERE, unplaceable(n));
    assert.equal(f.bob.fetches, UPDATE_RESYNC_BURST);
    assert.equal(f.changed.length, 10, "local users are told each time: their clients ask again");
    // Dropped, not stale: a local /keys/query asks the server.
    assert.deepEqual(await cachedDevices(f), ["B1"]);
    assert.equal(f.bob.fetches, UPDATE_RESYNC_BURST + 1);
    await f.cache.receiveDeviceListUpdate(THERE, unplaceable(10));
    assert.equal(f.bob.fetches, UPDATE_RESYNC_BURST + 1, "still no budget");
    f.time += UPDATE_RESYNC_INTERVAL_MS;
    await f.cache.receiveDeviceListUpdate(THERE, unplaceable(11));
    assert.equal(f.bob.fetches, UPDATE_RESYNC_BURST + 2, "one more after the interval");
  });

  it("keeps nothing for users who share no room with ours, and forgets them when that ends", async () => {
    const f = await fixture(getDb());
    f.sharing = false;
    f.bob.addDevice("B1");
    await f.cache.receiveDeviceListUpdate(THERE, f.bob.update("B1"));
    assert.equal(f.bob.fetches, 0);
    assert.deepEqual(await cachedDevices(f), ["(not cached)"]);
    assert.deepEqual(f.changed, []);

    f.sharing = true;
    assert.deepEqual(await cachedDevices(f), ["B1"], "a local keys/query caches the list of a user sharing a room");
    f.sharing = false;
    await f.cache.membershipsChanged([BOB]);
    assert.deepEqual(await cachedDevices(f), ["(not cached)"]);
  });

  it("refuses what the origin may not say, and keys that are not the device's own", async () => {
    const f = await fixture(getDb());
    const keys = f.bob.addDevice("B1");
    // Another server speaking for bob: ignored (the dispatcher drops it too, see below).
    await f.cache.receiveDeviceListUpdate("evil.test", f.bob.update("B1"));
    await f.cache.receiveDeviceListUpdate(THERE, { user_id: BOB, device_id: "B1", stream_id: "1" });
    await f.cache.receiveDeviceListUpdate(THERE, { user_id: BOB, device_id: "B1", stream_id: 1, prev_id: ["x"] });
    assert.equal(f.bob.fetches, 0);
    await f.cache.receiveDeviceListUpdate(THERE, f.bob.update("B1"));
    assert.equal(f.bob.fetches, 1);

    // Keys claimed for B2 but signed by another key: not applied; the list is fetched instead,
    // and the server's own list (which has no B2) wins.
    f.bob.streamId += 1;
    const forged = { ...signedDeviceKeys(BOB, "B2", deviceSigningKey("B2")), keys: (keys as { keys: JsonObject }).keys };
    await f.cache.receiveDeviceListUpdate(THERE, { user_id: BOB, device_id: "B2", stream_id: f.bob.streamId, prev_id: [f.bob.streamId - 1], keys: forged });
    assert.equal(f.bob.fetches, 2);
    assert.deepEqual(await cachedDevices(f), ["B1"]);

    // Through the dispatcher: an update about another server's user never reaches the cache.
    const dispatcher = new EduDispatcher({ isAllowed: async () => true, membership: async () => "join" });
    for (const [type, handler] of deviceListEduHandlers(f.cache)) dispatcher.onEdu(type, handler);
    f.bob.addDevice("B3");
    await dispatcher.dispatch("evil.test", [{ edu_type: "m.device_list_update", content: f.bob.update("B3") }]);
    assert.deepEqual(await cachedDevices(f), ["B1"]);
    await dispatcher.dispatch(THERE, [{ edu_type: "m.device_list_update", content: f.bob.update("B3") }]);
    assert.deepEqual(await cachedDevices(f), ["B1", "B3"]);
  });

  it("takes signing key updates for cached users, a self-signing key only when the master key signed it", async () => {
    const f = await fixture(getDb());
    f.bob.addDevice("B1");
    await f.cache.receiveDeviceListUpdate(THERE, f.bob.update("B1"));
    const master = crossSigningKeyPair();
    const selfSigning = crossSigningKeyPair();
    const masterKey = crossSigningKeyObject(BOB, "master", master);
    const selfSigningKey = crossSigningKeyObject(BOB, "self_signing", selfSigning, master);
    await f.cache.receiveSigningKeyUpdate(THERE, { user_id: BOB, master_key: masterKey, self_signing_key: selfSigningKey });
    let answer = await f.cache.query(new Map([[BOB, []]]));
    assert.deepEqual(answer.master_keys[BOB], masterKey);
    assert.deepEqual(answer.self_signing_keys[BOB], selfSigningKey);
    assert.deepEqual(f.changed, [BOB, BOB]);

    // A self-signing key the master key did not sign, or a key naming another user: not taken.
    const unsigned = crossSigningKeyObject(BOB, "self_signing", crossSigningKeyPair());
    await f.cache.receiveSigningKeyUpdate(THERE, { user_id: BOB, self_signing_key: unsigned });
    await f.cache.receiveSigningKeyUpdate(THERE, { user_id: BOB, master_key: crossSigningKeyObject("@eve:there.test", "master", crossSigningKeyPair()) });
    answer = await f.cache.query(new Map([[BOB, []]]));
    assert.deepEqual(answer.self_signing_keys[BOB], selfSigningKey);
    assert.deepEqual(answer.master_keys[BOB], masterKey);
    assert.deepEqual(f.changed, [BOB, BOB]);
  });

  it("drops a list it cannot bring up to date, so keys/query asks the server again", async () => {
    const db = getDb();
    const f = await fixture(db);
    f.bob.addDevice("B1");
    await f.cache.receiveDeviceListUpdate(THERE, f.bob.update("B1"));
    const failing = new RemoteDeviceLists({
      serverName: HERE,
      store: new DeviceListFederationStore(db),
      fetchUserDevices: async () => Promise.reject(new Error("unreachable")),
      usersSharingRoomWith: async (userId) => new Set([userId, ALICE]),
      keysChanged: async (userId) => void f.changed.push(userId),
    });
    f.bob.addDevice("B2");
    f.bob.addDevice("B3");
    await failing.receiveDeviceListUpdate(THERE, f.bob.update("B3")); // a gap, and the resync fails
    const answer = await failing.query(new Map([[BOB, []]]));
    assert.deepEqual([...answer.unanswered.keys()], [BOB]);
    assert.deepEqual(f.changed, [BOB, BOB]);
  });
});
