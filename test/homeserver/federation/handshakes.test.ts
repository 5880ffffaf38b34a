import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { completeEvent, EventTemplates } from "../../../src/homeserver/federation/event-template.ts";
import { RoomReader } from "../../../src/homeserver/federation/room-reader.ts";
import { parsePdu } from "../../../src/homeserver/federation/remote-events.ts";
import { engines } from "../../storage/engines.ts";
import { twoServers, type FederatedServer } from "./federated-server.ts";

// The membership handshakes in their other forms: version negotiation, the v1 answers, knocking,
// restricted joins, and what is not offered yet.

const enc = encodeURIComponent;

function status(code: number, errcode?: string) {
  return (err: unknown): boolean => err instanceof FederationRequestError && err.status === code && (errcode === undefined || err.errcode === errcode);
}

for (const engine of engines) {
  describe(`membership handshakes [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    let alice: string;

    before(async () => {
      ({ a, b } = servers);
      alice = a.user("alice");
    });

    it("make_join answers M_INCOMPATIBLE_ROOM_VERSION when the room's version is not in ver (default [1])", async () => {
      const roomId = await a.createRoom(alice, { preset: "public", version: "10" });
      const user = b.user("v");
      const client = b.services.federation.client;
      const path = `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc(user)}`;
      await assert.rejects(client.get(a.serverName, path), (err: unknown) => status(400, "M_INCOMPATIBLE_ROOM_VERSION")(err));
      await assert.rejects(client.get(a.serverName, path, { query: { ver: ["9", "11"] } }), status(400, "M_INCOMPATIBLE_ROOM_VERSION"));
      const answer = await client.get(a.serverName, path, { query: { ver: ["9", "10"] } });
      assert.equal(answer["room_version"], "10");
      const event = answer["event"] as JsonObject;
      assert.deepEqual([event["type"], event["state_key"], event["sender"], (event["content"] as JsonObject)["membership"]], ["m.room.member", user, user, "join"]);
      // Only for the requesting server's own users.
      await assert.rejects(client.get(a.serverName, `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc(a.user("x"))}`, { query: { ver: ["10"] } }), status(403));
      await assert.rejects(client.get(a.serverName, `/_matrix/federation/v1/make_join/${enc("!nowhere:" + a.serverName)}/${enc(user)}`, { query: { ver: ["10"] } }), status(404));
    });

    it("answers send_join and send_leave v1 as [200, {...}], and checks the event it is given", async () => {
      const roomId = await a.createRoom(alice, { preset: "public", version: "10" });
      const version = getRoomVersion("10");
      assert.ok(version !== undefined);
      const user = await b.register("old");
      const client = b.services.federation.client;
      const key = b.services.serverKeys.signingKey;
      const signed = async (kind: "join" | "leave"): Promise<{ pdu: JsonObject; eventId: string }> => {
        const answer = await client.get(a.serverName, `/_matrix/federation/v1/make_${kind}/${enc(roomId)}/${enc(user)}`, { query: { ver: ["10"] } });
        const pdu = completeEvent(answer["event"] as JsonObject, version, b.serverName, key, Date.now());
        const parsed = parsePdu(pdu, version);
        if (!("event" in parsed)) throw new Error(parsed.error);
        return { pdu, eventId: parsed.event.eventId };
      };
      const join = await signed("join");
      // Another event ID in the path than the event's own is refused.
      await assert.rejects(client.put(a.serverName, `/_matrix/federation/v2/send_join/${enc(roomId)}/${enc("$other")}`, join.pdu), status(400, "M_INVALID_PARAM"));
      const answer = (await client.requestJson("PUT", a.serverName, `/_matrix/federation/v1/send_join/${enc(roomId)}/${enc(join.eventId)}`, join.pdu)) as JsonValue[];
      assert.equal(answer[0], 200);
      const body = answer[1] as JsonObject;
      assert.ok((body["state"] as JsonObject[]).some((e) => e["type"] === "m.room.create"));
      assert.ok(Array.isArray(body["auth_chain"]));
      assert.equal(await a.membership(roomId, user), "join");
      const leave = await signed("leave");
      assert.deepEqual(await client.requestJson("PUT", a.serverName, `/_matrix/federation/v1/send_leave/${enc(roomId)}/${enc(leave.eventId)}`, leave.pdu), [200, {}]);
      assert.equal(await a.membership(roomId, user), "leave");
    });

    it("knocks on a room that allows it, and the knock is seen by the resident", async () => {
      const roomId = await a.createRoom(alice, { preset: "private", version: "10" });
      await a.state(roomId, alice, "m.room.join_rules", "", { join_rule: "knock" });
      await a.state(roomId, alice, "m.room.name", "", { name: "Knock knock" });
      const grace = await b.register("grace");
      const knocked = await b.services.federationRooms.remote.knock(grace, roomId, [a.serverName], { reason: "let me in" });
      assert.equal(knocked.roomId, roomId);
      assert.ok(knocked.knockRoomState.some((e) => e["type"] === "m.room.name"));
      assert.equal(await a.membership(roomId, grace), "knock");
      // Knocking on an invite-only room is turned away.
      const closed = await a.createRoom(alice, { preset: "private", version: "10" });
      await assert.rejects(b.services.federationRooms.remote.knock(grace, closed, [a.serverName], {}), { errcode: "M_FORBIDDEN" });
    });

    it("joins a restricted room through membership of another room, signed by the resident", async () => {
      const bob = await b.register("bob");
      const space = await a.createRoom(alice, { preset: "public", version: "10" });
      const restricted = await a.createRoom(alice, { preset: "private", version: "10" });
      await a.state(restricted, alice, "m.room.join_rules", "", { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: space }] });
      // Not in the space yet: no way in.
      await assert.rejects(b.services.federationRooms.remote.join(bob, restricted, [a.serverName], {}), { errcode: "M_FORBIDDEN" });
      await b.services.federationRooms.remote.join(bob, space, [a.serverName], {});
      await b.services.federationRooms.remote.join(bob, restricted, [a.serverName], {});
      assert.equal(await a.membership(restricted, bob), "join");
      const member = await a.stateContent(restricted, "m.room.member", bob);
      assert.equal(member?.["join_authorised_via_users_server"], alice);
      // A restricted room whose conditions name a room the resident is not in cannot be vouched for.
      const elsewhere = await a.createRoom(alice, { preset: "private", version: "10" });
      await a.state(elsewhere, alice, "m.room.join_rules", "", { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: "!unknown:elsewhere.test" }] });
      await assert.rejects(
        b.services.federation.client.get(a.serverName, `/_matrix/federation/v1/make_join/${enc(elsewhere)}/${enc(bob)}`, { query: { ver: ["10"] } }),
        status(400, "M_UNABLE_TO_AUTHORISE_JOIN"),
      );
    });

    // The exchange itself is tested in test/homeserver/third-party-invites/.
    it("answers an exchange_third_party_invite that is no partial m.room.member event with 400 M_INVALID_PARAM", async () => {
      await assert.rejects(
        b.services.federation.client.put(a.serverName, `/_matrix/federation/v1/exchange_third_party_invite/${enc("!r:" + a.serverName)}`, {}),
        status(400, "M_INVALID_PARAM"),
      );
    });

    it("takes an invite v1 (room version 1) and answers [200, {event}] signed", async () => {
      const roomId = await a.createRoom(alice, { preset: "private", version: "1" });
      const version = getRoomVersion("1");
      assert.ok(version !== undefined);
      const henry = await b.register("henry");
      const built = await new EventTemplates(new RoomReader(a.services.roomserver), a.serverName).build({
        roomId,
        type: "m.room.member",
        stateKey: henry,
        sender: alice,
        content: { membership: "invite" },
      });
      const pdu = completeEvent(built.template, version, a.serverName, a.services.serverKeys.signingKey, Date.now());
      const eventId = pdu["event_id"] as string;
      const answer = (await a.services.federation.client.requestJson("PUT", b.serverName, `/_matrix/federation/v1/invite/${enc(roomId)}/${enc(eventId)}`, {
        ...pdu,
        unsigned: { invite_room_state: [] },
      })) as JsonValue[];
      assert.equal(answer[0], 200);
      const signed = (answer[1] as JsonObject)["event"] as JsonObject;
      assert.ok(Object.keys((signed["signatures"] as JsonObject)[b.serverName] as JsonObject).length > 0);
      const pending = await b.services.federationRooms.invites.pendingFor(henry);
      assert.deepEqual(pending.map((i) => [i.roomId, i.roomVersion]), [[roomId, "1"]]);
      // An invite of someone who is not a user here is refused.
      await assert.rejects(
        a.services.federationRooms.remoteRooms.inviter?.invite({ roomId, sender: alice, invitee: b.user("nobody"), content: {} }) ?? Promise.resolve(),
        { errcode: "M_NOT_FOUND" },
      );
    });
  });
}
