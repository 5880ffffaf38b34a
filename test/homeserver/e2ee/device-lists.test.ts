/**
 * Device-list tracking (modules/end_to_end_encryption.md#tracking-the-device-list-for-a-user,
 * #e2e-extensions-to-sync) on both engines: key uploads, deleted devices and cross-signing changes
 * reach the users who share a room; joins put users in `changed`, parting ways puts them in `left`;
 * GET /keys/changes between two sync tokens.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DeviceListService, type RoomMembershipView } from "../../../src/homeserver/e2ee/device-list-service.ts";
import type { StreamName } from "../../../src/homeserver/sync/token.ts";
import { DeviceListStore } from "../../../src/storage/stores/device-lists.ts";
import { engines, forEachEngine } from "../../storage/engines.ts";
import { assertError, call, login, registerUser, withPasswordUia, type TestUser } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML, crossSigningKeyObject, crossSigningKeyPair, deviceListToken, roomWith, setMembership, uploadDeviceKeys } from "./helpers.ts";

for (const engine of engines) {
  describe(`device-list changes [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    const deviceLists = () => hs.server.services.e2ee.deviceLists;
    const changes = (user: TestUser, since: number) => deviceLists().changesSince(user.userId, since);

    it("tells users who share a room about key uploads, deleted devices and cross-signing keys", async () => {
      const alice = await registerUser(hs, "dlalice");
      const bob = await registerUser(hs, "dlbob", { device_id: "BOB1" });
      const loner = await registerUser(hs, "dlloner");
      await roomWith(hs, alice.userId, [bob.userId]);

      const p0 = deviceLists().position();
      await uploadDeviceKeys(hs, bob);
      assert.deepEqual(await changes(alice, p0), { changed: [bob.userId], left: [] });
      assert.deepEqual(await changes(bob, p0), { changed: [bob.userId], left: [] }, "its own devices too");
      assert.deepEqual(await changes(loner, p0), { changed: [], left: [] });

      const p1 = deviceLists().position();
      assert.deepEqual(await changes(alice, p1), { changed: [], left: [] });
      const other = (await login(hs, "dlbob", bob.password, { device_id: "BOB2" })).body;
      await uploadDeviceKeys(hs, { ...bob, accessToken: other["access_token"] as string, deviceId: "BOB2" });
      const p2 = deviceLists().position();
      assert.equal((await withPasswordUia(hs, "DELETE", "/_matrix/client/v3/devices/BOB2", bob)).status, 200);
      assert.ok(deviceLists().position() > p2);
      assert.deepEqual(await changes(alice, p2), { changed: [bob.userId], left: [] });

      const p3 = deviceLists().position();
      const master = crossSigningKeyPair();
      const uploaded = await call(hs, "POST", "/_matrix/client/v3/keys/device_signing/upload", {
        token: bob.accessToken,
        body: { master_key: crossSigningKeyObject(bob.userId, "master", master) },
      });
      assert.equal(uploaded.status, 200);
      assert.deepEqual(await changes(alice, p3), { changed: [bob.userId], left: [] });
    });

    it("lists users who come to share a room in changed, and those who stop in left", async () => {
      const carol = await registerUser(hs, "dlcarol");
      const dan = await registerUser(hs, "dldan");
      const erin = await registerUser(hs, "dlerin");
      const roomId = await roomWith(hs, carol.userId, [dan.userId]);
      const other = await roomWith(hs, erin.userId);

      const p0 = deviceLists().position();
      await setMembership(hs, roomId, erin.userId, "join");
      assert.deepEqual(await changes(carol, p0), { changed: [erin.userId], left: [] });
      assert.deepEqual(await changes(erin, p0), { changed: [carol.userId, dan.userId].sort(), left: [] });

      const p1 = deviceLists().position();
      await setMembership(hs, roomId, erin.userId, "leave");
      assert.deepEqual(await changes(carol, p1), { changed: [], left: [erin.userId] });
      assert.deepEqual(await changes(erin, p1), { changed: [], left: [carol.userId, dan.userId].sort() });

      // Dan also shares another room with erin: leaving this one does not part them.
      await setMembership(hs, other, dan.userId, "join");
      await setMembership(hs, roomId, erin.userId, "join");
      const p2 = deviceLists().position();
      await setMembership(hs, roomId, erin.userId, "leave");
      const erinSees = await changes(erin, p2);
      assert.deepEqual(erinSees.left, [carol.userId]);
      assert.ok(!erinSees.left.includes(dan.userId));
      assert.ok(!erinSees.changed.includes(carol.userId));
    });

    it("answers GET /keys/changes between two sync tokens", async () => {
      const fay = await registerUser(hs, "dlfay");
      const gus = await registerUser(hs, "dlgus", { device_id: "GUS1" });
      await roomWith(hs, fay.userId, [gus.userId]);
      const from = deviceLists().position();
      await uploadDeviceKeys(hs, gus);
      const to = deviceLists().position();
      const reply = await call(hs, "GET", `/_matrix/client/v3/keys/changes?from=${deviceListToken(from)}&to=${deviceListToken(to)}`, { token: fay.accessToken });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, { changed: [gus.userId], left: [] });
      const empty = await call(hs, "GET", `/_matrix/client/v3/keys/changes?from=${deviceListToken(to)}&to=${deviceListToken(to)}`, { token: fay.accessToken });
      assert.deepEqual(empty.body, { changed: [], left: [] });
      const before = await call(hs, "GET", `/_matrix/client/v3/keys/changes?from=${deviceListToken(from)}&to=${deviceListToken(from)}`, { token: fay.accessToken });
      assert.deepEqual(before.body, { changed: [], left: [] }, "nothing after `to`");
      assertError(await call(hs, "GET", "/_matrix/client/v3/keys/changes?from=s1", { token: fay.accessToken }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "GET", "/_matrix/client/v3/keys/changes?from=junk&to=s1", { token: fay.accessToken }), 400, "M_INVALID_PARAM");
    });
  });
}

forEachEngine("DeviceListService", (getDb) => {
  it("notifies the user and its rooms, or the one observer a change is for", async () => {
    const notified: { stream: StreamName; position: number; userIds: string[]; roomIds: string[] }[] = [];
    const rooms = new Map([["@a:hs.test", ["!r1:hs.test", "!r2:hs.test"]]]);
    const memberships: RoomMembershipView = {
      joinedRooms: async (userId) => rooms.get(userId) ?? [],
      joinedMembers: async () => [],
      usersSharingRoomWith: async () => new Set(),
    };
    const service = await DeviceListService.create(new DeviceListStore(getDb()), memberships, {
      notify: (stream, position, concerns) => notified.push({ stream, position, userIds: [...(concerns?.userIds ?? [])], roomIds: [...(concerns?.roomIds ?? [])] }),
    });
    await service.keysChanged("@a:hs.test");
    assert.deepEqual(notified.at(-1), { stream: "deviceLists", position: service.position(), userIds: ["@a:hs.test"], roomIds: ["!r1:hs.test", "!r2:hs.test"] });
    await service.keysChanged("@b:hs.test", "@a:hs.test");
    assert.deepEqual(notified.at(-1), { stream: "deviceLists", position: service.position(), userIds: ["@a:hs.test"], roomIds: [] });
    // Seen by the observer whatever rooms they share; nobody else.
    assert.deepEqual(await service.changesSince("@a:hs.test", service.position() - 1), { changed: ["@b:hs.test"], left: [] });
    assert.deepEqual(await service.changesSince("@c:hs.test", service.position() - 1), { changed: [], left: [] });

    service.membershipsChanged("!r1:hs.test", ["@c:hs.test", "@d:hs.test"]);
    await service.flush();
    assert.deepEqual(notified.at(-1), { stream: "deviceLists", position: service.position(), userIds: ["@c:hs.test", "@d:hs.test"], roomIds: ["!r1:hs.test"] });
  });

  it("keeps one row per user and observer, with the latest position", async () => {
    const store = new DeviceListStore(getDb());
    const first = await store.append([{ kind: "keys", userId: "@x:hs.test" }]);
    const second = await store.append([{ kind: "keys", userId: "@x:hs.test" }]);
    assert.ok(second > first);
    const rows = await store.between("@anyone:hs.test", first - 1, second);
    assert.deepEqual(rows.map((r) => [r.userId, r.streamId]), [["@x:hs.test", second]]);
    assert.equal(await store.maxStreamId(), second);
  });
});
