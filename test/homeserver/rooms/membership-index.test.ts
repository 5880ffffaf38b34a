// The membership index on both engines: kept from the roomserver's outputs, caught up from the
// room stream after a crash (the index lagging behind the stream), and idempotent on replays.
import assert from "node:assert/strict";
import { it } from "node:test";
import { MembershipStore } from "../../../src/storage/stores/memberships.ts";
import { forEachEngine } from "../../storage/engines.ts";
import { local, remote, remoteKey, RemoteServer, REMOTE, startRoomserver, version } from "../roomserver/harness.ts";
import { indexOver, member as sendMember, publicRoom } from "./engine.ts";

async function member(...args: Parameters<typeof sendMember>): Promise<number> {
  return (await sendMember(...args)).position;
}

forEachEngine("MembershipIndex", (getDb) => {
  it("follows joins, invites, leaves and bans as they are sent", async () => {
    const { roomserver } = startRoomserver(getDb());
    const index = indexOver(getDb(), roomserver);
    await index.start();
    const [alice, bob, carol] = [local("a1"), local("b1"), local("c1")];
    const { roomId } = await publicRoom(roomserver, alice);
    const joined = await member(roomserver, roomId, bob, bob, "join");
    await index.waitUntil(joined);
    assert.deepEqual(await index.joinedMembers(roomId), [alice, bob].sort());
    assert.equal(await index.membershipOf(bob, roomId), "join");

    const invited = await member(roomserver, roomId, alice, carol, "invite");
    const remoteInvite = await member(roomserver, roomId, alice, remote("r1"), "invite");
    await index.waitUntil(remoteInvite);
    assert.equal(await index.membershipOf(carol, roomId), "invite");
    assert.deepEqual(await index.serversInRoom(roomId), ["local.test"]);
    assert.deepEqual((await index.roomsForUser(carol)).map((r) => [r.roomId, r.membership, r.streamOrdering]), [[roomId, "invite", invited]]);
    assert.deepEqual(await index.roomsForUser(carol, ["join"]), []);

    const left = await member(roomserver, roomId, bob, bob, "leave");
    const banned = await member(roomserver, roomId, alice, bob, "ban");
    await index.waitUntil(banned);
    assert.deepEqual(await index.joinedMembers(roomId), [alice]);
    assert.equal(await index.membershipOf(bob, roomId), "ban");
    assert.deepEqual(
      (await index.membershipChangesSince(bob, 0, banned)).map((c) => [c.membership, c.streamOrdering]),
      [["join", joined], ["leave", left], ["ban", banned]],
    );
    assert.deepEqual((await index.membershipChangesSince(bob, joined, left)).map((c) => c.membership), ["leave"]);
    assert.deepEqual(await index.usersSharingRoomWith(alice), new Set([alice]));
    assert.equal(await index.membershipOf(local("nobody"), roomId), undefined);
    await index.close();
  });

  it("lists the users sharing a room and the servers in it", async () => {
    const { roomserver } = startRoomserver(getDb());
    const index = indexOver(getDb(), roomserver);
    await index.start();
    const alice = local("a2");
    const { roomId } = await publicRoom(roomserver, alice);
    const other = local("b2");
    const position = await member(roomserver, roomId, other, other, "join");
    await index.waitUntil(position);
    assert.deepEqual(await index.usersSharingRoomWith(other), new Set([alice, other]));
    assert.deepEqual(await index.serversInRoom(roomId), ["local.test"]);
    await index.close();
  });

  it("catches up after a crash between the events' commit and the index's update", async () => {
    const db = getDb();
    const { roomserver } = startRoomserver(db);
    const first = indexOver(db, roomserver);
    await first.start();
    const [alice, bob, carol] = [local("a3"), local("b3"), local("c3")];
    const { roomId } = await publicRoom(roomserver, alice);
    const bobJoined = await member(roomserver, roomId, bob, bob, "join");
    await first.waitUntil(bobJoined);
    await first.close();
    // A clean stop records how far it got.
    assert.ok((await new MembershipStore(db).checkpoint()) >= bobJoined);

    // Nothing listens now: these commit while the index is "down" (it lags behind the stream).
    const { roomId: second } = await publicRoom(roomserver, carol);
    const invited = await member(roomserver, second, carol, bob, "invite");
    await member(roomserver, roomId, bob, bob, "leave");
    const carolJoined = await member(roomserver, roomId, carol, carol, "join");

    const restarted = indexOver(db, roomserver);
    await restarted.start();
    await restarted.waitUntil(carolJoined);
    assert.deepEqual(await restarted.joinedMembers(roomId), [alice, carol].sort());
    assert.deepEqual(await restarted.joinedMembers(second), [carol]);
    assert.equal(await restarted.membershipOf(bob, second), "invite");
    assert.deepEqual(
      (await restarted.roomsForUser(bob)).map((r) => [r.roomId, r.membership]).sort(),
      [[roomId, "leave"], [second, "invite"]].sort(),
    );
    // The missed changes are in the log at their events' positions.
    assert.ok((await restarted.membershipChangesSince(bob, 0, carolJoined)).some((c) => c.roomId === second && c.streamOrdering === invited));

    // And it goes on live.
    const again = await member(roomserver, roomId, bob, bob, "join");
    await restarted.waitUntil(again);
    assert.equal(await restarted.membershipOf(bob, roomId), "join");
    await restarted.close();
  });

  it("takes out-of-band memberships of rooms not here (a received invite, its rejection), live and after a crash", async () => {
    const db = getDb();
    const { roomserver, outputs } = startRoomserver(db);
    const index = indexOver(db, roomserver);
    await index.start();
    const server = new RemoteServer(REMOTE, remoteKey, version("10"));
    const bob = local("oob1");
    const roomId = `!elsewhere:${REMOTE}`;
    // Its auth events are in a room this server does not have: checks 1-3 only.
    const inviteOf = (ts: number) =>
      server.event({ roomId, type: "m.room.member", stateKey: bob, sender: remote("ra"), content: { membership: "invite" }, prevEvents: ["$p:remote.test"], authEvents: ["$a:remote.test"], depth: 5, ts });
    const invited = await roomserver.input({ kind: "out_of_band", pdu: inviteOf(1), roomVersion: "10", origin: REMOTE });
    assert.equal(invited.outcome, "accepted");
    const position = invited.outcome === "accepted" ? (invited.streamOrdering ?? 0) : 0;
    assert.ok(position > 0);
    const told = outputs.find((o) => o.kind === "new_room_event" && o.event.eventId === invited.eventId);
    assert.ok(told?.kind === "new_room_event" && told.outOfBand === true && told.stateDelta.size === 0);
    await index.waitUntil(position);
    assert.deepEqual((await index.roomsForUser(bob)).map((r) => [r.roomId, r.membership, r.streamOrdering]), [[roomId, "invite", position]]);
    assert.equal((await roomserver.getEvent(invited.eventId))?.outlier, true);
    assert.equal(await roomserver.currentState(roomId).then((s) => s?.size ?? 0), 0);
    await index.close();

    // A second invite while the index is down: the catch-up takes it from the stream.
    const again = await roomserver.input({ kind: "out_of_band", pdu: inviteOf(2), roomVersion: "10", origin: REMOTE });
    const againAt = again.outcome === "accepted" ? (again.streamOrdering ?? 0) : 0;
    assert.ok(againAt > position);
    const restarted = indexOver(db, roomserver);
    await restarted.start();
    await restarted.waitUntil(againAt);
    assert.deepEqual((await restarted.roomsForUser(bob)).map((r) => [r.roomId, r.membership, r.eventId]), [[roomId, "invite", again.eventId]]);
    assert.deepEqual((await restarted.membershipChangesSince(bob, position, againAt)).map((c) => c.streamOrdering), [againAt]);
    await restarted.close();
  });

  it("is idempotent: a replay of the stream and a second catch-up change nothing", async () => {
    const db = getDb();
    const { roomserver } = startRoomserver(db);
    const alice = local("a4");
    const { roomId } = await publicRoom(roomserver, alice);
    const bob = local("b4");
    const last = await member(roomserver, roomId, bob, bob, "join");
    const store = new MembershipStore(db);
    const before = await store.changesSince(bob, 0, last);

    // The checkpoint moved back to 0: the whole stream is replayed over rows already there.
    const first = indexOver(db, roomserver);
    await first.start();
    await first.close();
    const afterFirst = await store.changesSince(bob, 0, last);
    await store.setCheckpoint(0);
    const second = indexOver(db, roomserver);
    await second.start();
    await second.waitUntil(last);
    assert.deepEqual(await store.changesSince(bob, 0, last), afterFirst);
    assert.ok(afterFirst.length >= before.length);
    assert.deepEqual(await second.joinedMembers(roomId), [alice, bob].sort());
    await second.close();
  });

  it("waitUntil resolves only once the position is applied", async () => {
    const db = getDb();
    const { roomserver } = startRoomserver(db);
    const index = indexOver(db, roomserver);
    let resolved = false;
    const waiting = index.waitUntil(1).then(() => (resolved = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(resolved, false, "not before the catch-up");
    await index.start();
    await waiting;
    const alice = local("a5");
    const { roomId, last } = await publicRoom(roomserver, alice);
    await index.waitUntil(last);
    assert.deepEqual(await index.joinedMembers(roomId), [alice]);
    await index.close();
  });
});
