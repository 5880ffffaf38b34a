import assert from "node:assert/strict";
import { it } from "node:test";
import { DeviceStore } from "../../../src/storage/stores/devices.ts";
import { SessionStore } from "../../../src/storage/stores/sessions.ts";
import { UserStore } from "../../../src/storage/stores/users.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("SessionStore", (getDb) => {
  const stores = () => ({ users: new UserStore(getDb()), devices: new DeviceStore(getDb()), sessions: new SessionStore(getDb(), () => 1_000) });

  it("issues tokens on a new device, and on an existing one revokes its earlier tokens", async () => {
    const { users, devices, sessions } = stores();
    await users.createUser("@ann:hs", null);
    const first = await sessions.issueSession({ userId: "@ann:hs", deviceId: "D", displayName: "Phone", accessTokenHash: "a1", accessExpiresTs: null });
    assert.equal(first.deviceCreated, true);
    assert.equal(first.refreshTokenId, null);
    assert.deepEqual(first.revokedAccessTokenIds, []);
    const second = await sessions.issueSession({
      userId: "@ann:hs",
      deviceId: "D",
      displayName: "Ignored",
      accessTokenHash: "a2",
      accessExpiresTs: 5_000,
      refreshTokenHash: "r2",
    });
    assert.equal(second.deviceCreated, false);
    assert.deepEqual(second.revokedAccessTokenIds, [first.accessTokenId]);
    assert.equal(await devices.getAccessToken("a1"), undefined);
    const token = await devices.getAccessToken("a2");
    assert.equal(token?.expiresTs, 5_000);
    assert.equal(token?.refreshTokenId, second.refreshTokenId);
    assert.equal((await devices.getDevice("@ann:hs", "D"))?.displayName, "Phone");
  });

  it("rotates refresh tokens: the used one lives until its successor is used", async () => {
    const { users, devices, sessions } = stores();
    await users.createUser("@bea:hs", null);
    await sessions.issueSession({ userId: "@bea:hs", deviceId: "D", displayName: null, accessTokenHash: "b-a1", accessExpiresTs: 2_000, refreshTokenHash: "b-r1" });
    const next = (n: number) => ({ refreshTokenHash: `b-r${n}`, accessTokenHash: `b-a${n}`, accessExpiresTs: 9_000 });

    const r2 = await sessions.rotateRefreshToken("b-r1", next(2));
    assert.equal(r2.kind, "rotated");
    assert.equal(await devices.getAccessToken("b-a1"), undefined, "the old access token died with the rotation");
    // r1 again (the client lost the answer): r2 and its access token are replaced by r3.
    const r3 = await sessions.rotateRefreshToken("b-r1", next(3));
    assert.equal(r3.kind, "rotated");
    assert.equal(await devices.getAccessToken("b-a2"), undefined);
    assert.equal((await sessions.rotateRefreshToken("b-r2", next(9))).kind, "unknown");
    // The first use of a3 revokes r1.
    if (r3.kind !== "rotated") return;
    assert.deepEqual(await sessions.revokePredecessor(r3.session.refreshTokenId), []);
    assert.equal((await sessions.rotateRefreshToken("b-r1", next(4))).kind, "unknown");
    assert.deepEqual(await sessions.revokePredecessor(r3.session.refreshTokenId), [], "nothing left to revoke");
    // Rotating r3 revokes nothing more than its own access token.
    const r5 = await sessions.rotateRefreshToken("b-r3", next(5));
    assert.equal(r5.kind, "rotated");
    if (r5.kind === "rotated") assert.deepEqual([r5.session.userId, r5.session.deviceId], ["@bea:hs", "D"]);
    assert.equal(await devices.getAccessToken("b-a3"), undefined);
    assert.ok((await devices.getAccessToken("b-a5")) !== undefined);
  });

  it("deletes refresh tokens with their device", async () => {
    const { users, devices, sessions } = stores();
    await users.createUser("@cy:hs", null);
    await sessions.issueSession({ userId: "@cy:hs", deviceId: "D", displayName: null, accessTokenHash: "c-a1", accessExpiresTs: 2_000, refreshTokenHash: "c-r1" });
    assert.equal(await devices.deleteDevice("@cy:hs", "D"), true);
    assert.equal((await sessions.rotateRefreshToken("c-r1", { refreshTokenHash: "c-r2", accessTokenHash: "c-a2", accessExpiresTs: null })).kind, "unknown");
  });
});
