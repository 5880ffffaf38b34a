import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Pdu } from "../../../src/core/events/room-event.ts";
import { hashAndSignEvent } from "../../../src/core/events/sign.ts";
import { isJsonObject, type JsonObject } from "../../../src/core/json.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { completeEvent, EventTemplates } from "../../../src/homeserver/federation/event-template.ts";
import { parsePdu } from "../../../src/homeserver/federation/remote-events.ts";
import { RoomReader } from "../../../src/homeserver/federation/room-reader.ts";
import { engines } from "../../storage/engines.ts";
import { twoServers, type FederatedServer } from "./federated-server.ts";

// An audit of the federation endpoints against the Server-Server API: each test is a request
// another server (or Complement) makes, and the answer the spec asks for.

const enc = encodeURIComponent;
const v12 = getRoomVersion("12");
if (v12 === undefined) throw new Error("room version 12");
const version = v12;

function status(code: number, errcode: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof FederationRequestError, String(err));
    assert.equal(err.status, code, err.message);
    assert.equal(err.errcode, errcode, err.message);
    return true;
  };
}

for (const engine of engines) {
  describe(`federation audit [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    let alice: string;

    before(async () => {
      ({ a, b } = servers);
      alice = await a.register("alice");
    });

    /** An event of B's user on A's view of a room, written and signed by B as it likes. */
    async function craftOnA(roomId: string, sender: string, type: string, stateKey: string | undefined, content: JsonObject): Promise<{ pdu: Pdu; eventId: string }> {
      const built = await new EventTemplates(new RoomReader(a.services.roomserver), a.serverName).build({
        roomId,
        type,
        sender,
        content,
        ...(stateKey === undefined ? {} : { stateKey }),
      });
      const pdu = completeEvent(built.template, built.version, b.serverName, b.services.serverKeys.signingKey, Date.now());
      const parsed = parsePdu(pdu, built.version);
      if (!("event" in parsed)) throw new Error(parsed.error);
      return { pdu, eventId: parsed.event.eventId };
    }

    /** A v12 room of alice's on A (the creator holds no power level), named "Signed". */
    async function v12Room(joinRule: string): Promise<string> {
      const rs = a.services.roomserver;
      const { roomId } = await rs.createRoom({ roomVersion: "12", creator: alice });
      const send = (type: string, content: JsonObject, stateKey = "") => rs.createLocalEvent({ roomId, type, stateKey, sender: alice, content });
      await send("m.room.member", { membership: "join" }, alice);
      await send("m.room.power_levels", { users: {}, users_default: 0, events_default: 0, state_default: 50, invite: 0 });
      await send("m.room.join_rules", { join_rule: joinRule });
      await send("m.room.name", { name: "Signed" });
      return roomId;
    }

    /** The event with A's signature replaced by one A's key does not verify. */
    function forgeSignature(event: Pdu): Pdu {
      const signatures = event["signatures"] as Record<string, Record<string, string>>;
      const [keyId, sig] = Object.entries(signatures[a.serverName] ?? {})[0] ?? ["", ""];
      const forged = `${sig.slice(0, 10)}${sig.slice(10, 20).split("").reverse().join("")}${sig.slice(20)}`;
      assert.notEqual(forged, sig);
      return { ...event, signatures: { [a.serverName]: { [keyId]: forged } } };
    }

    it("does not vouch at send_join for a restricted join whose conditions the user does not meet", async () => {
      const mallory = b.user("mallory");
      const space = await a.createRoom(alice, { preset: "public", version: "10" });
      const restricted = await a.createRoom(alice, { preset: "private", version: "10" });
      await a.state(restricted, alice, "m.room.join_rules", "", { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: space }] });
      // make_join refuses mallory (not in the space); B writes the join itself, naming alice as the authoriser.
      const join = await craftOnA(restricted, mallory, "m.room.member", mallory, { membership: "join", join_authorised_via_users_server: alice });
      // server-server-api#restricted-rooms: "If the joining server fails all conditions then a 403 M_FORBIDDEN error is used".
      await assert.rejects(
        b.services.federation.client.put(a.serverName, `/_matrix/federation/v2/send_join/${enc(restricted)}/${enc(join.eventId)}`, join.pdu),
        status(403, "M_FORBIDDEN"),
      );
      assert.equal(await a.membership(restricted, mallory), undefined);
      assert.equal(await a.services.roomserver.getEvent(join.eventId), undefined);
    });

    it("refuses a v12 invite whose invite_room_state holds an event that fails its signature check", async () => {
      const roomId = await v12Room("invite");
      const templates = new EventTemplates(new RoomReader(a.services.roomserver), a.serverName);
      const inviteOf = async (invitee: string): Promise<{ pdu: Pdu; eventId: string }> => {
        const built = await templates.build({ roomId, type: "m.room.member", stateKey: invitee, sender: alice, content: { membership: "invite" } });
        const pdu = completeEvent(built.template, version, a.serverName, a.services.serverKeys.signingKey, Date.now());
        const parsed = parsePdu(pdu, version);
        if (!("event" in parsed)) throw new Error(parsed.error);
        return { pdu, eventId: parsed.event.eventId };
      };
      const put = (invite: { pdu: Pdu; eventId: string }, state: Pdu[]) =>
        a.services.federation.client.put(b.serverName, `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(invite.eventId)}`, {
          room_version: "12",
          event: invite.pdu,
          invite_room_state: state,
        });
      const state = await templates.strippedState(roomId);
      // The untouched state is taken (the test's control).
      const fine = await put(await inviteOf(await b.register("ivy")), state);
      assert.ok((fine["event"] as JsonObject)["signatures"] !== undefined);
      // The name event with another signature in A's name: a forgery A's key does not verify.
      const forged = state.map((event) => (event["type"] === "m.room.name" ? forgeSignature(event) : event));
      assert.ok(forged.some((event, i) => event !== state[i]));
      const victim = await b.register("victor");
      // invites-v2.yaml: servers "SHOULD return M_INVALID_PARAM if ... One or more events fails a signature check".
      await assert.rejects(put(await inviteOf(victim), forged), status(400, "M_INVALID_PARAM"));
      assert.equal(await b.services.federationRooms.invites.pending(roomId, victim), undefined);
    });

    it("keeps only the properly signed events of a v12 knock_room_state", async () => {
      const roomId = await v12Room("knock");
      const knocker = await b.register("kit");
      const built = await new EventTemplates(new RoomReader(a.services.roomserver), a.serverName).build({
        roomId,
        type: "m.room.member",
        stateKey: knocker,
        sender: knocker,
        content: { membership: "knock" },
      });
      const knock = parsePdu(completeEvent(built.template, version, b.serverName, b.services.serverKeys.signingKey, Date.now()), version);
      if (!("event" in knock)) throw new Error(knock.error);
      const state = await new EventTemplates(new RoomReader(a.services.roomserver), a.serverName).strippedState(roomId);
      const forged = state.map((event) => (event["type"] === "m.room.name" ? forgeSignature(event) : event));
      // knocks.yaml knock_room_state: "Entries which are improperly signed or formatted SHOULD be removed".
      await b.services.federationRooms.invites.keepKnock(a.serverName, knock.event, version, forged);
      const kept = (await b.services.federationRooms.invites.pending(roomId, knocker))?.inviteRoomState ?? [];
      assert.deepEqual(kept.map((e) => e["type"]).sort(), state.filter((e) => e["type"] !== "m.room.name").map((e) => e["type"]).sort());
      assert.ok(kept.some((e) => e["type"] === "m.room.create"));
    });
    it("answers make_knock without `ver` with 400 M_MISSING_PARAM", async () => {
      const roomId = await a.createRoom(alice, { preset: "private", version: "10" });
      await a.state(roomId, alice, "m.room.join_rules", "", { join_rule: "knock" });
      const knocker = b.user("kim");
      const path = `/_matrix/federation/v1/make_knock/${enc(roomId)}/${enc(knocker)}`;
      const template = await b.services.federation.client.get(a.serverName, path, { query: { ver: ["10"] } });
      assert.equal(template["room_version"], "10");
      // knocks.yaml make_knock: `ver` "required: true"; the room's version is not the problem.
      await assert.rejects(b.services.federation.client.get(a.serverName, path), status(400, "M_MISSING_PARAM"));
      await assert.rejects(b.services.federation.client.get(a.serverName, path, { query: { ver: ["1", "2"] } }), status(400, "M_INCOMPATIBLE_ROOM_VERSION"));
    });
    it("refuses a v1 invite whose event ID names a server that did not sign it", async () => {
      const roomId = await a.createRoom(alice, { preset: "private", version: "1" });
      const v1 = getRoomVersion("1");
      if (v1 === undefined) throw new Error("room version 1");
      const templates = new EventTemplates(new RoomReader(a.services.roomserver), a.serverName);
      const put = async (invitee: string, eventId: string) => {
        const built = await templates.build({ roomId, type: "m.room.member", stateKey: invitee, sender: alice, content: { membership: "invite" } });
        const pdu = hashAndSignEvent({ ...built.template, event_id: eventId }, v1, a.serverName, a.services.serverKeys.signingKey);
        return await a.services.federation.client.put(b.serverName, `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(eventId)}`, { room_version: "1", event: pdu, invite_room_state: [] });
      };
      // The control: an event ID of A's own.
      assert.ok(isJsonObject((await put(await b.register("olive"), `$ok:${a.serverName}`))["event"]));
      // server-server-api "Validating hashes and signatures on received events": in v1-v2 the event
      // ID's server signs too; B is named but never signed (invites-v2.yaml: M_INVALID_PARAM).
      const victim = await b.register("otto");
      await assert.rejects(put(victim, `$forged:${b.serverName}`), status(400, "M_INVALID_PARAM"));
      assert.equal(await b.services.federationRooms.invites.pending(roomId, victim), undefined);
    });
  });
}
