import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateSigningKey, type SigningKey } from "../../../src/core/crypto/ed25519.ts";
import type { Pdu } from "../../../src/core/events/room-event.ts";
import { hashAndSignEvent } from "../../../src/core/events/sign.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { completeEvent, EventTemplates } from "../../../src/homeserver/federation/event-template.ts";
import { parsePdu } from "../../../src/homeserver/federation/remote-events.ts";
import { signRequest } from "../../../src/homeserver/federation/request-auth.ts";
import { RoomReader } from "../../../src/homeserver/federation/room-reader.ts";
import { HttpsTransport } from "../../../src/homeserver/federation/transport.ts";
import { IpRangePolicy } from "../../../src/homeserver/federation/ip-ranges.ts";
import { systemResolver } from "../../../src/homeserver/federation/dns.ts";
import { engines } from "../../storage/engines.ts";
import { twoServers, waitFor, type FederatedServer } from "./federated-server.ts";

// A hostile server (here A, or someone with A's name but not its key) tries what a server may
// not; B refuses each, and nothing changes on B.

const v10 = getRoomVersion("10");
if (v10 === undefined) throw new Error("room version 10");

let txnCounter = 0;

for (const engine of engines) {
  describe(`refusing a hostile server [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    let roomId: string;
    let alice: string;
    let mallory: string;

    before(async () => {
      ({ a, b } = servers);
      alice = a.user("alice");
      mallory = a.user("mallory");
      const bob = await b.register("bob");
      roomId = await a.createRoom(alice, { preset: "public" });
      await a.state(roomId, mallory, "m.room.member", mallory, { membership: "join" });
      await b.services.federationRooms.remote.join(bob, roomId, [a.serverName], {});
    });

    /** An event of A's user built on A's view of the room, signed with `key` (A's own by default). */
    async function craft(sender: string, type: string, content: JsonObject, options: { stateKey?: string; key?: SigningKey; room?: string } = {}): Promise<{ pdu: Pdu; eventId: string }> {
      const built = await new EventTemplates(new RoomReader(a.services.roomserver), a.serverName).build({
        roomId: options.room ?? roomId,
        type,
        sender,
        content,
        ...(options.stateKey === undefined ? {} : { stateKey: options.stateKey }),
      });
      const pdu = completeEvent(built.template, built.version, a.serverName, options.key ?? a.services.serverKeys.signingKey, Date.now());
      return { pdu, eventId: idOf(pdu) };
    }

    function idOf(pdu: Pdu): string {
      const parsed = parsePdu(pdu, v10 as NonNullable<typeof v10>);
      if (!("event" in parsed)) throw new Error(parsed.error);
      return parsed.event.eventId;
    }

    /** PUT /send from A to B, properly signed by A. */
    async function sendFromA(pdus: Pdu[], edus: JsonObject[] = []): Promise<JsonObject> {
      return await a.services.federation.client.put(b.serverName, `/_matrix/federation/v1/send/hostile-${++txnCounter}`, {
        origin: a.serverName,
        origin_server_ts: Date.now(),
        pdus,
        edus,
      });
    }

    function errorOf(answer: JsonObject, eventId: string): unknown {
      return ((answer["pdus"] as JsonObject)[eventId] as JsonObject | undefined)?.["error"];
    }

    async function nothingChanged(check: () => Promise<void>): Promise<void> {
      const stateBefore = await b.currentState(roomId);
      const timelineBefore = (await b.timeline(roomId)).length;
      await check();
      assert.deepEqual(await b.currentState(roomId), stateBefore);
      assert.equal((await b.timeline(roomId)).length, timelineBefore);
    }

    it("refuses an event with a forged signature", async () => {
      const forger = generateSigningKey(a.services.serverKeys.signingKey.keyId.slice("ed25519:".length));
      const { pdu, eventId } = await craft(alice, "m.room.message", { msgtype: "m.text", body: "forged" }, { key: forger });
      await nothingChanged(async () => {
        const answer = await sendFromA([pdu]);
        assert.match(String(errorOf(answer, eventId)), /signature/);
        assert.equal(await b.services.roomserver.getEvent(eventId), undefined);
      });
    });

    it("refuses a request signed for another destination", async () => {
      const transport = new HttpsTransport({ resolver: systemResolver, ipRanges: new IpRangePolicy([], []), verifyCertificates: true, extraCaCertificates: [servers.pki.caCert] });
      try {
        const { pdu, eventId } = await craft(alice, "m.room.message", { msgtype: "m.text", body: "misdirected" });
        const path = `/_matrix/federation/v1/send/misdirected-${++txnCounter}`;
        const body = { origin: a.serverName, origin_server_ts: Date.now(), pdus: [pdu] };
        const authorization = signRequest({ method: "PUT", uri: path, origin: a.serverName, destination: "elsewhere.test", content: body }, a.services.serverKeys.signingKey);
        const response = await transport.request({
          target: { host: "127.0.0.1", port: b.port },
          hostHeader: b.serverName,
          method: "PUT",
          path,
          headers: { authorization, "content-type": "application/json" },
          body: JSON.stringify(body),
          timeoutMs: 10_000,
          maxResponseBytes: 100_000,
        });
        assert.equal(response.status, 401);
        assert.equal(JSON.parse(response.body.toString("utf8")).errcode, "M_UNAUTHORIZED");
        assert.equal(await b.services.roomserver.getEvent(eventId), undefined);
      } finally {
        await transport.close();
      }
    });

    it("never lets content that does not match its hash through (the event is redacted on receipt)", async () => {
      const { pdu, eventId } = await craft(alice, "m.room.message", { msgtype: "m.text", body: "original" });
      const tampered: Pdu = { ...pdu, content: { msgtype: "m.text", body: "tampered" } };
      // The content is not covered by the event ID (the redacted form is): the ID stays.
      assert.equal(idOf(tampered), eventId);
      await sendFromA([tampered]);
      const stored = await b.services.roomserver.getEvent(eventId);
      assert.deepEqual(stored?.event.content, {});
      assert.ok(!JSON.stringify(await b.timeline(roomId)).includes("tampered"));
    });

    it("refuses an event for a room the sending server is not in", async () => {
      const bob = b.user("bob");
      const other = await b.createRoom(bob, { preset: "public" });
      const otherState = await b.currentState(other);
      const ids = [...(otherState?.values() ?? [])];
      const pdu = hashAndSignEvent(
        {
          room_id: other,
          type: "m.room.message",
          sender: alice,
          content: { msgtype: "m.text", body: "intruder" },
          depth: 10,
          prev_events: (await b.services.roomserver.forwardExtremities(other)),
          auth_events: ids.slice(0, 3),
          origin: a.serverName,
          origin_server_ts: Date.now(),
        },
        v10 as NonNullable<typeof v10>,
        a.serverName,
        a.services.serverKeys.signingKey,
      );
      const eventId = idOf(pdu);
      const before = await b.currentState(other);
      const answer = await sendFromA([pdu]);
      assert.match(String(errorOf(answer, eventId)), /not in the room/);
      assert.equal(await b.services.roomserver.getEvent(eventId), undefined);
      assert.deepEqual(await b.currentState(other), before);
    });

    it("rejects an event citing power its sender does not have", async () => {
      const { pdu, eventId } = await craft(mallory, "m.room.power_levels", { users: { [mallory]: 100 }, users_default: 0 }, { stateKey: "" });
      await nothingChanged(async () => {
        const answer = await sendFromA([pdu]);
        assert.match(String(errorOf(answer, eventId)), /rejected/);
        assert.ok((await b.services.roomserver.getEvent(eventId))?.rejectedReason !== undefined);
      });
      assert.equal(((await b.stateContent(roomId, "m.room.power_levels", ""))?.["users"] as JsonObject)[mallory], undefined);
    });

    it("refuses a transaction of 51 PDUs", async () => {
      const pdus: Pdu[] = [];
      for (let i = 0; i < 51; i++) pdus.push((await craft(alice, "m.room.message", { msgtype: "m.text", body: `bulk ${i}` })).pdu);
      await nothingChanged(async () => {
        await assert.rejects(sendFromA(pdus), (err: unknown) => err instanceof FederationRequestError && err.status === 400);
        assert.equal(await b.services.roomserver.getEvent(idOf(pdus[0] as Pdu)), undefined);
      });
    });

    it("refuses a server the room's ACL denies, its events and its requests", async () => {
      const bob = b.user("bob");
      const aclRoom = await b.createRoom(bob, { preset: "public" });
      await a.services.federationRooms.remote.join(alice, aclRoom, [b.serverName], {});
      await b.state(aclRoom, bob, "m.room.server_acl", "", { allow: ["*"], deny: ["localhost"], allow_ip_literals: true });
      await waitFor("the ACL on A", async () => (await a.stateContent(aclRoom, "m.room.server_acl", "")) !== undefined);
      const before = await b.currentState(aclRoom);
      const eventId = await a.send(aclRoom, alice, "denied");
      await a.services.federationRooms.settled();
      assert.equal(await b.services.roomserver.getEvent(eventId), undefined);
      assert.deepEqual(await b.currentState(aclRoom), before);
      await assert.rejects(
        a.services.federation.client.get(b.serverName, `/_matrix/federation/v1/state_ids/${encodeURIComponent(aclRoom)}`, { query: { event_id: eventId } }),
        (err: unknown) => err instanceof FederationRequestError && err.status === 403 && err.errcode === "M_FORBIDDEN",
      );
      await assert.rejects(
        a.services.federation.client.get(b.serverName, `/_matrix/federation/v1/make_join/${encodeURIComponent(aclRoom)}/${encodeURIComponent(mallory)}`, { query: { ver: ["10"] } }),
        (err: unknown) => err instanceof FederationRequestError && err.status === 403,
      );
      // Typing notifications for the room from the denied server are dropped before any handler.
      const typing: unknown[] = [];
      const stop = b.services.federationRooms.onEdu("m.typing", (_origin, content) => void typing.push(content));
      await sendFromA([], [{ edu_type: "m.typing", content: { room_id: aclRoom, user_id: alice, typing: true } }]);
      await sendFromA([], [{ edu_type: "m.typing", content: { room_id: roomId, user_id: alice, typing: true } }]);
      stop();
      assert.deepEqual(typing, [{ room_id: roomId, user_id: alice, typing: true }]);
    });
  });
}
