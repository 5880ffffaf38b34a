/**
 * Third-party invites on one homeserver (client-server-api#third-party-invites,
 * server-server-api#third-party-invites) with a stand-in identity server over HTTPS: an invite of
 * a bound address is a normal invite; an unbound one is stored at the identity server and becomes
 * an m.room.third_party_invite; the identity server's /3pid/onbind turns it into an invite the
 * invitee sees in /sync and joins on; forged, revoked and malformed ones are refused; createRoom's
 * invite_3pid; the inviter's power; the identity server's refusals as the client gets them.
 */
import assert from "node:assert/strict";
import { serverNameOf } from "../../../src/core/identifiers/index.ts";
import { after, before, describe, it } from "node:test";
import { Agent } from "undici";
import { engines } from "../../storage/engines.ts";
import { clientOf, findStripped, type Client, type Json } from "../federation/client-api.ts";
import { startFederatedServer, type FederatedServer } from "../federation/federated-server.ts";
import { createTestPki, type TestPki } from "../federation/pki.ts";
import { freePort } from "../federation/tls-homeserver.ts";
import { startStandInIdentityServer, type StandInIdentityServer } from "./identity-server.ts";
import { assertError, createRoom, enc, freshAddress, invite3pid, inviteState, onlyThirdPartyInvite, thirdPartyInvites } from "./helpers.ts";

for (const engine of engines) {
  describe(`third-party invites on one server [${engine}]`, () => {
    let pki: TestPki;
    let hs: FederatedServer;
    let is: StandInIdentityServer;
    let agent: Agent;
    let alice: Client;
    let bob: Client;
    let carol: Client;

    before(async () => {
      pki = await createTestPki();
      hs = await startFederatedServer(engine, pki, "localhost");
      is = await startStandInIdentityServer(pki);
      agent = new Agent({ connect: { ca: pki.caCert } });
      alice = await clientOf(hs, "alice", agent);
      bob = await clientOf(hs, "bob", agent);
      carol = await clientOf(hs, "carol", agent);
      await alice.call("PUT", `/_matrix/client/v3/profile/${enc(alice.userId)}/displayname`, { displayname: "Alice" });
      await bob.syncUntil("bob's first sync", () => true);
    });
    after(async () => {
      await agent?.close();
      await is?.close();
      await hs?.destroy();
      await pki?.cleanup();
    });

    const lastInvite = () => {
      const invite = is.invites.at(-1);
      assert.ok(invite !== undefined);
      return invite;
    };
    const memberContent = (roomId: string, userId: string) => hs.stateContent(roomId, "m.room.member", userId);

    it("invites the user an address is bound to, as a normal invite, without storing it at the identity server", async () => {
      const address = freshAddress("bound");
      is.bind(address, carol.userId);
      const roomId = await createRoom(alice);
      const stored = is.storeInviteRequests.length;
      // The address is looked up as the identity server keeps it (email case-folded).
      const answer = await invite3pid(alice, is, roomId, address.toUpperCase());
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      assert.deepEqual(answer.json, {});
      const member = await memberContent(roomId, carol.userId);
      assert.equal(member?.["membership"], "invite");
      assert.equal(member?.["third_party_invite"], undefined);
      assert.equal(is.storeInviteRequests.length, stored);
      assert.deepEqual(await thirdPartyInvites(alice, roomId), []);
    });

    it("stores an invite of an unbound address with the room's details, and sends m.room.third_party_invite with the identity server's keys", async () => {
      const localpart = `plans${process.pid}${Date.now()}`;
      const roomId = await createRoom(alice, { name: "Plans", room_alias_name: localpart });
      const address = freshAddress("unbound");
      const answer = await invite3pid(alice, is, roomId, address);
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      // v2_store_invite.yaml's fields, as the room and the inviter have them (no avatar, no type here).
      assert.deepEqual(is.storeInviteRequests.at(-1), {
        medium: "email",
        address,
        room_id: roomId,
        sender: alice.userId,
        room_alias: `#${localpart}:${hs.serverName}`,
        room_join_rules: "invite",
        room_name: "Plans",
        sender_display_name: "Alice",
      });
      const invite = lastInvite();
      const event = await onlyThirdPartyInvite(alice, roomId);
      assert.equal(event["state_key"], invite.token);
      assert.equal(event["sender"], alice.userId);
      const base = `https://${is.serverName}/_matrix/identity/v2`;
      assert.deepEqual(event["content"], {
        display_name: `${address.slice(0, 1)}...@e...`,
        key_validity_url: `${base}/pubkey/isvalid`,
        public_key: is.longTermKey.publicKeyBase64,
        public_keys: [
          { public_key: is.longTermKey.publicKeyBase64, key_validity_url: `${base}/pubkey/isvalid` },
          { public_key: invite.ephemeralKey.publicKeyBase64, key_validity_url: `${base}/pubkey/ephemeral/isvalid` },
        ],
      });
      assert.equal(await memberContent(roomId, bob.userId), undefined);
    });

    it("turns the identity server's onbind into an invite the invitee sees in /sync with its stripped state, and joins on", async () => {
      const roomId = await createRoom(alice, { name: "Onbind" });
      const address = freshAddress("bob");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      const invite = lastInvite();
      const polled = bob.syncUntil("the third-party invite in bob's rooms.invite", (r) => inviteState(r, roomId).length > 0);
      const bound = await is.notifyBound(address, bob.userId, hs.port);
      assert.equal(bound.status, 200, JSON.stringify(bound.json));
      assert.deepEqual(bound.json, {});

      const state = inviteState(await polled, roomId);
      const own = findStripped(state, "m.room.member", bob.userId);
      assert.equal(own?.["sender"], alice.userId);
      const content = own?.["content"] as Json;
      assert.equal(content["membership"], "invite");
      const thirdParty = content["third_party_invite"] as Json;
      assert.equal(thirdParty["display_name"], `${address.slice(0, 1)}...@e...`);
      assert.deepEqual(thirdParty["signed"], is.signedFor(invite, bob.userId));
      assert.deepEqual(findStripped(state, "m.room.name")?.["content"], { name: "Onbind" });

      // The identity server trying again changes nothing.
      assert.equal((await is.notifyBound(address, bob.userId, hs.port)).status, 200);
      await bob.call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {});
      assert.equal((await memberContent(roomId, bob.userId))?.["membership"], "join");
      assert.equal((await is.notifyBound(address, bob.userId, hs.port)).status, 200);
      assert.equal((await memberContent(roomId, bob.userId))?.["membership"], "join");
    });

    it("refuses an onbind whose signature no key of the m.room.third_party_invite made (the auth rules)", async () => {
      const roomId = await createRoom(alice);
      const address = freshAddress("forged");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      assertError(await is.notifyBound(address, bob.userId, hs.port, { forged: true }), 403, "M_FORBIDDEN");
      assert.equal(await memberContent(roomId, bob.userId), undefined);
    });

    it("refuses a key the identity server no longer holds valid, and takes the other key of the invite", async () => {
      const roomId = await createRoom(alice);
      const address = freshAddress("revokedkey");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      const invite = lastInvite();
      is.revoke(invite.ephemeralKey.publicKeyBase64);
      const body = (signed: Json) => ({
        medium: "email",
        address,
        mxid: bob.userId,
        invites: [{ medium: "email", address, mxid: bob.userId, room_id: roomId, sender: alice.userId, signed }],
      });
      assertError(await is.postOnBind(hs.port, body(is.signedFor(invite, bob.userId, { key: invite.ephemeralKey }))), 403, "M_FORBIDDEN");
      assert.equal(await memberContent(roomId, bob.userId), undefined);
      assert.equal((await is.postOnBind(hs.port, body(is.signedFor(invite, bob.userId)))).status, 200);
      assert.equal((await memberContent(roomId, bob.userId))?.["membership"], "invite");
    });

    it("cannot redeem an invite its sender revoked (empty content), by onbind or by a join with third_party_signed", async () => {
      const roomId = await createRoom(alice);
      const address = freshAddress("revoked");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      const invite = lastInvite();
      // client-server-api#third-party-invites: the inviter revokes by replacing the content.
      await alice.call("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.third_party_invite/${enc(invite.token)}`, {});
      assertError(await is.notifyBound(address, bob.userId, hs.port), 403, "M_FORBIDDEN");
      const signed = is.signedFor(invite, bob.userId, { extra: { sender: alice.userId } });
      assertError(await bob.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/join`, { third_party_signed: signed }), 403, "M_FORBIDDEN");
      assert.equal(await memberContent(roomId, bob.userId), undefined);
    });

    it("joins with third_party_signed: the invite is redeemed, then the join made on it", async () => {
      const roomId = await createRoom(alice);
      const address = freshAddress("signedjoin");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      const invite = lastInvite();
      // What an identity server's sign-ed25519 answers (v2_invitation_signing.yaml): mxid, sender, token, signed.
      const forCarol = is.signedFor(invite, carol.userId, { extra: { sender: alice.userId } });
      // Someone else's signed block is not bob's.
      assertError(await bob.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/join`, { third_party_signed: forCarol }), 403, "M_FORBIDDEN");
      const signed = is.signedFor(invite, bob.userId, { extra: { sender: alice.userId } });
      const joined = await bob.call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/join`, { third_party_signed: signed });
      assert.equal(joined["room_id"], roomId);
      assert.equal((await memberContent(roomId, bob.userId))?.["membership"], "join");
      const timeline = await hs.timeline(roomId);
      const redeemed = timeline.find((e) => e.type === "m.room.member" && e.stateKey === bob.userId && e.content["membership"] === "invite");
      assert.deepEqual((redeemed?.content["third_party_invite"] as Json | undefined)?.["signed"], signed);
    });

    it("joins with third_party_signed by the room's alias: the alias resolved, the invite redeemed there, then the join", async () => {
      const localpart = `tpi${Date.now().toString(36)}`;
      const roomId = await createRoom(alice, { room_alias_name: localpart });
      const address = freshAddress("aliasjoin");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      const signed = is.signedFor(lastInvite(), bob.userId, { extra: { sender: alice.userId } });
      const alias = `#${localpart}:${serverNameOf(alice.userId) ?? ""}`;
      const joined = await bob.call("POST", `/_matrix/client/v3/join/${enc(alias)}`, { third_party_signed: signed });
      assert.equal(joined["room_id"], roomId);
      assert.equal((await memberContent(roomId, bob.userId))?.["membership"], "join");
    });

    it("ignores onbind invites of other servers' users, of users it does not have, and of another user than the one bound", async () => {
      const roomId = await createRoom(alice);
      const address = freshAddress("elsewhere");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      const invite = lastInvite();
      const entry = (mxid: string) => ({ medium: "email", address, mxid, room_id: roomId, sender: alice.userId, signed: is.signedFor(invite, mxid) });
      const remote = "@someone:elsewhere.example";
      const unknown = `@nobody:${hs.serverName}`;
      for (const [mxid, invited] of [
        [remote, remote],
        [unknown, unknown],
        [carol.userId, bob.userId],
      ] as const) {
        const answer = await is.postOnBind(hs.port, { medium: "email", address, mxid, invites: [entry(invited)] });
        assert.equal(answer.status, 200, JSON.stringify(answer.json));
        assert.deepEqual(answer.json, {});
        assert.equal(await memberContent(roomId, invited), undefined);
      }
    });

    it("answers malformed onbind bodies with 400 M_NOT_JSON, M_MISSING_PARAM, M_BAD_JSON or M_INVALID_PARAM", async () => {
      const roomId = await createRoom(alice);
      const good = { medium: "email", address: "x@example.org", mxid: bob.userId, room_id: roomId, sender: alice.userId };
      const signed = { mxid: bob.userId, token: "abc", signatures: { [is.serverName]: { "ed25519:0": "c2ln" } } };
      const top = (invites: unknown, mxid: unknown = bob.userId) => ({ medium: "email", address: "x@example.org", mxid, invites });
      assertError(await is.postOnBind(hs.port, undefined, "{not json"), 400, "M_NOT_JSON");
      assertError(await is.postOnBind(hs.port, {}), 400, "M_MISSING_PARAM");
      assertError(await is.postOnBind(hs.port, top("all of them")), 400, "M_BAD_JSON");
      assertError(await is.postOnBind(hs.port, top([], 42)), 400, "M_BAD_JSON");
      assertError(await is.postOnBind(hs.port, top(Array.from({ length: 101 }, () => ({ ...good, signed })))), 400, "M_BAD_JSON");
      assertError(await is.postOnBind(hs.port, top([], "bob")), 400, "M_INVALID_PARAM");
      const bad: unknown[] = [
        42,
        { ...good },
        { ...good, signed: "signed" },
        { ...good, signed: { ...signed, signatures: "none" } },
        { ...good, signed: { ...signed, signatures: { [is.serverName]: { "ed25519:0": 7 } } } },
        { ...good, signed: { ...signed, token: "" } },
        { ...good, signed: { ...signed, token: "a b" } },
        { ...good, signed: { ...signed, mxid: "@carol:elsewhere" } },
        { ...good, room_id: "nowhere" },
        { ...good, sender: ["@alice"] },
        { ...good, mxid: null, signed },
      ];
      for (const invite of bad) {
        assertError(await is.postOnBind(hs.port, top([invite])), 400, "M_INVALID_PARAM");
      }
      assert.equal(await memberContent(roomId, bob.userId), undefined);
    });

    it("makes createRoom's invite_3pid after its invites: a bound address invited, an unbound one an m.room.third_party_invite", async () => {
      const bound = freshAddress("createbound");
      const unbound = freshAddress("createunbound");
      is.bind(bound, carol.userId);
      const entry = (address: string) => ({ id_server: is.serverName, id_access_token: is.accessToken, medium: "email", address });
      const roomId = await createRoom(alice, { invite: [bob.userId], invite_3pid: [entry(unbound), entry(bound)] });
      const invite = lastInvite();
      assert.equal(invite.address, unbound);
      const event = await onlyThirdPartyInvite(alice, roomId);
      assert.equal(event["state_key"], invite.token);
      assert.equal((await memberContent(roomId, carol.userId))?.["membership"], "invite");
      // create_room.yaml step 8: "Invite events implied by invite and invite_3pid", in that order.
      const types = (await hs.timeline(roomId)).filter((e) => e.content["membership"] === "invite" || e.type === "m.room.third_party_invite");
      assert.deepEqual(
        types.map((e) => e.stateKey),
        [bob.userId, invite.token, carol.userId],
      );
      const missing = await alice.request("POST", "/_matrix/client/v3/createRoom", { invite_3pid: [{ id_server: is.serverName, medium: "email", address: unbound }] });
      assertError(missing, 400, "M_MISSING_PARAM");
      const badMedium = await alice.request("POST", "/_matrix/client/v3/createRoom", { invite_3pid: [{ ...entry(unbound), medium: "pigeon" }] });
      assertError(badMedium, 400, "M_INVALID_PARAM");
    });

    it("refuses an inviter without the power to invite, or not in the room, before asking the identity server", async () => {
      const roomId = await createRoom(alice, { preset: "public_chat", power_level_content_override: { invite: 50 } });
      await carol.call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {});
      const [lookups, stores] = [is.lookups, is.storeInviteRequests.length];
      assertError(await invite3pid(carol, is, roomId, freshAddress("nopower")), 403, "M_FORBIDDEN");
      const notIn = await createRoom(alice);
      assertError(await invite3pid(carol, is, notIn, freshAddress("notin")), 403, "M_FORBIDDEN");
      assert.deepEqual([is.lookups, is.storeInviteRequests.length], [lookups, stores]);
      assert.deepEqual(await thirdPartyInvites(alice, roomId), []);
    });

    it("answers the identity server's refusals and failures in the spec's terms", async () => {
      const roomId = await createRoom(alice);
      const address = freshAddress("refused");
      // The identity server's own code, with its status (401 as 403: the client's token here is fine).
      assertError(await invite3pid(alice, is, roomId, address, { id_access_token: "wrong" }), 403, "M_UNAUTHORIZED");
      is.refuseNext("/_matrix/identity/v2/store-invite", 403, { errcode: "M_TERMS_NOT_SIGNED", error: "Please accept our terms" });
      assertError(await invite3pid(alice, is, roomId, address), 403, "M_TERMS_NOT_SIGNED");
      assertError(await invite3pid(alice, is, roomId, "+44 7700 900000", { medium: "msisdn" }), 400, "M_UNRECOGNIZED");
      is.refuseNext("/_matrix/identity/v2/lookup", 500, { errcode: "M_UNKNOWN", error: "on fire" });
      assertError(await invite3pid(alice, is, roomId, address), 502, "M_UNKNOWN");
      assertError(await invite3pid(alice, is, roomId, address, { id_server: `localhost:${await freePort()}` }), 502, "M_CONNECTION_FAILED");
      assert.deepEqual(await thirdPartyInvites(alice, roomId), []);
      // invite_3pid.yaml: all four fields required.
      assertError(await alice.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { id_server: is.serverName, medium: "email", address }), 400, "M_MISSING_PARAM");
      assertError(await invite3pid(alice, is, roomId, address, { medium: "pigeon" }), 400, "M_INVALID_PARAM");
      assertError(await invite3pid(alice, is, roomId, address, { id_server: "not a server" }), 400, "M_INVALID_PARAM");
      assertError(await alice.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, {}), 400, "M_MISSING_PARAM");
    });
  });
}
